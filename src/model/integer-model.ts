/**
 * Integer-exact models: what a provable model is once quantized. Every weight, bias and activation is
 * an integer, every intermediate is bounded below 2^24, so a float32 ONNX graph (onnxruntime on CPU or
 * CUDA) computes exactly what this module's pure-TypeScript reference computes, and what the circuit
 * proves. The ONNX file is the one source: its metadata names the layers, its initializers hold them.
 */
import onnxProto from "onnx-proto";
import { z } from "zod";
import { parseArtifact } from "../core/read-artifact.js";

export const IntegerInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("tokens"), vocabSize: z.int(), context: z.int() }),
  z.object({ kind: z.literal("bits"), size: z.int() }),
  /** Quantized real inputs: the integer v stands for v × scale, v in [min, max]. */
  z.object({ kind: z.literal("int"), size: z.int(), min: z.int(), max: z.int(), scale: z.number() }),
]);
export type IntegerInput = z.infer<typeof IntegerInput>;

export type IntegerLayer =
  /** h_j = bias_j + Σ_p table[p·V + token_p][j] */
  | {
      readonly kind: "positional_tables";
      readonly vocabSize: number;
      readonly context: number;
      readonly width: number;
      readonly table: Int32Array;
      readonly bias: Int32Array;
    }
  /** y_j = bias_j + Σ_i x_i · weight[i][j] */
  | {
      readonly kind: "dense";
      readonly inputs: number;
      readonly outputs: number;
      readonly weight: Int32Array;
      readonly bias: Int32Array;
    }
  /** y = min(max(floor(x / 2^shift), 0), max): rescale, ReLU and saturation in one step */
  | { readonly kind: "requantize"; readonly width: number; readonly shift: number; readonly max: number };

export interface IntegerModel {
  readonly input: IntegerInput;
  readonly layers: readonly IntegerLayer[];
  readonly classes: number;
}

/** float32 holds every integer of magnitude below 2^24 exactly. */
export const FLOAT32_EXACT_LIMIT = 2 ** 24;

export const INPUT_NAME = { tokens: "tokens", bits: "features", int: "input" } as const;
export const LOGITS_OUTPUT = "logits";
export const ARGMAX_OUTPUT = "argmax";
export const METADATA_KEY = "proofgate.integer_model";

export function inputLength(input: IntegerInput): number {
  return input.kind === "tokens" ? input.context : input.size;
}

/** The integer range of every input value. */
export function inputRange(input: IntegerInput): [number, number] {
  if (input.kind === "tokens") return [0, input.vocabSize - 1];
  if (input.kind === "bits") return [0, 1];
  return [input.min, input.max];
}

/** Checks that an input sample is what the model takes; returns a reason, or null when valid. */
export function checkIntegerInput(input: IntegerInput, values: readonly number[]): string | null {
  const n = inputLength(input);
  if (values.length !== n) return `input has ${values.length} values; model expects ${n}`;
  const [min, max] = inputRange(input);
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < min || v > max);
  return bad < 0 ? null : `input[${bad}] is ${values[bad]}; expected an integer in [${min}, ${max}]`;
}

/** The integer reference: logits of one sample. */
export function runIntegerModel(model: IntegerModel, sample: readonly number[]): Int32Array {
  const trace = traceIntegerModel(model, sample);
  return trace[trace.length - 1];
}

/** The integer reference, keeping every layer's output (the circuit's witness needs them). */
export function traceIntegerModel(model: IntegerModel, sample: readonly number[]): Int32Array[] {
  const reason = checkIntegerInput(model.input, sample);
  if (reason) throw new RangeError(reason);
  const trace: Int32Array[] = [];
  let x: Int32Array = Int32Array.from(sample);
  for (const layer of model.layers) {
    if (layer.kind === "positional_tables") {
      const y = Int32Array.from(layer.bias);
      for (let p = 0; p < layer.context; p++) {
        const row = (p * layer.vocabSize + x[p]) * layer.width;
        for (let j = 0; j < layer.width; j++) y[j] += layer.table[row + j];
      }
      x = y;
    } else if (layer.kind === "dense") {
      const y = Int32Array.from(layer.bias);
      for (let i = 0; i < layer.inputs; i++) {
        const xi = x[i];
        if (xi === 0) continue;
        const row = i * layer.outputs;
        for (let j = 0; j < layer.outputs; j++) y[j] += xi * layer.weight[row + j];
      }
      x = y;
    } else {
      const y = new Int32Array(layer.width);
      const divisor = 2 ** layer.shift;
      for (let j = 0; j < layer.width; j++) y[j] = Math.min(Math.max(Math.floor(x[j] / divisor), 0), layer.max);
      x = y;
    }
    trace.push(x);
  }
  return trace;
}

/** Index of the largest value, the first one on ties (as ONNX ArgMax with select_last_index = 0). */
export function argmaxFirst(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export interface LayerBounds {
  /** Smallest and largest value of each output. */
  readonly lo: readonly number[];
  readonly hi: readonly number[];
  /** Largest magnitude any partial sum of a dot product reaches (Σ|w|·max|x| + |b|), 0 for requantize. */
  readonly partial: number;
}

/** Interval bounds of every layer's outputs over all valid inputs. */
export function layerBounds(model: IntegerModel): LayerBounds[] {
  const [inMin, inMax] = inputRange(model.input);
  let lo: number[] = new Array(inputLength(model.input)).fill(inMin);
  let hi: number[] = new Array(inputLength(model.input)).fill(inMax);
  const out: LayerBounds[] = [];
  for (const layer of model.layers) {
    if (layer.kind === "requantize") {
      const clamp = (v: number) => Math.min(Math.max(Math.floor(v / 2 ** layer.shift), 0), layer.max);
      lo = lo.map(clamp);
      hi = hi.map(clamp);
      out.push({ lo, hi, partial: 0 });
      continue;
    }
    const width = layer.kind === "dense" ? layer.outputs : layer.width;
    const nextLo = Array.from(layer.bias);
    const nextHi = Array.from(layer.bias);
    const absBound = Array.from(layer.bias, Math.abs);
    if (layer.kind === "positional_tables") {
      for (let p = 0; p < layer.context; p++) {
        for (let j = 0; j < width; j++) {
          let mn = Infinity;
          let mx = -Infinity;
          let ab = 0;
          for (let t = 0; t < layer.vocabSize; t++) {
            const v = layer.table[(p * layer.vocabSize + t) * width + j];
            mn = Math.min(mn, v);
            mx = Math.max(mx, v);
            ab = Math.max(ab, Math.abs(v));
          }
          nextLo[j] += mn;
          nextHi[j] += mx;
          absBound[j] += ab;
        }
      }
    } else {
      for (let i = 0; i < layer.inputs; i++) {
        const mag = Math.max(Math.abs(lo[i]), Math.abs(hi[i]));
        for (let j = 0; j < width; j++) {
          const w = layer.weight[i * width + j];
          nextLo[j] += Math.min(w * lo[i], w * hi[i]);
          nextHi[j] += Math.max(w * lo[i], w * hi[i]);
          absBound[j] += Math.abs(w) * mag;
        }
      }
    }
    lo = nextLo;
    hi = nextHi;
    out.push({ lo, hi, partial: Math.max(...absBound) });
  }
  return out;
}

/** The largest magnitude any partial sum can reach, over all valid inputs. */
export function maxIntermediate(model: IntegerModel): number {
  return Math.max(0, ...layerBounds(model).map((b) => b.partial));
}

/** One layer as the metadata names it: its kind and sizes, without the weights (held as initializers). */
const LayerShape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("positional_tables"), vocabSize: z.int(), context: z.int(), width: z.int() }),
  z.object({ kind: z.literal("dense"), inputs: z.int(), outputs: z.int() }),
  z.object({ kind: z.literal("requantize"), width: z.int(), shift: z.int(), max: z.int() }),
]);
export type LayerShape = z.infer<typeof LayerShape>;

const IntegerStructure = z.object({ input: IntegerInput, classes: z.int(), layers: z.array(LayerShape) });

/** Reads an integer-exact graph written by `integerModelToOnnx` (src/onnx/integer-onnx-export.ts); null for any other ONNX file. */
export function integerModelFromOnnx(bytes: Uint8Array): IntegerModel | null {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const entry = model.metadataProps.find((p) => p.key === METADATA_KEY);
  if (!entry?.value) return null;
  const structure = parseArtifact(`the ONNX metadata ${METADATA_KEY}`, entry.value, IntegerStructure);
  const tensors = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? "", t]));
  const ints = (name: string): Int32Array => {
    const t = tensors.get(name);
    if (!t?.rawData) throw new Error(`integer model: missing initializer ${name}`);
    const raw = t.rawData;
    const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const out = new Int32Array(floats.length);
    for (let i = 0; i < floats.length; i++) {
      if (!Number.isInteger(floats[i]))
        throw new Error(`integer model: ${name}[${i}] = ${floats[i]} is not an integer`);
      out[i] = floats[i];
    }
    return out;
  };
  const layers = structure.layers.map((s, i): IntegerLayer => {
    if (s.kind === "positional_tables") return { ...s, table: ints(`l${i}.table`), bias: ints(`l${i}.bias`) };
    if (s.kind === "dense") return { ...s, weight: ints(`l${i}.weight`), bias: ints(`l${i}.bias`) };
    return s;
  });
  return { input: structure.input, classes: structure.classes, layers };
}
