/**
 * Post-training quantization of a float MLP (linear → ReLU → … → linear) to an integer-exact model.
 * Weights get symmetric per-tensor scales; each ReLU becomes a power-of-two requantization whose shift
 * is chosen from calibration samples so that activations fill [0, 2^activationBits − 1]. Power-of-two
 * rescales are exact in float32 and cost the circuit one range-checked remainder.
 */
import { maxIntermediate, type IntegerInput, type IntegerLayer, type IntegerModel } from "./integer-model.js";

export type FloatLayer =
  | {
      readonly kind: "positional_tables";
      readonly vocabSize: number;
      readonly context: number;
      readonly width: number;
      readonly table: Float32Array;
      readonly bias: Float32Array;
    }
  | {
      readonly kind: "dense";
      readonly inputs: number;
      readonly outputs: number;
      readonly weight: Float32Array;
      readonly bias: Float32Array;
    }
  /** max(x, 0), and min(·, cap) when capped (ONNX Clip(0, cap), e.g. ReLU6) */
  | { readonly kind: "relu"; readonly cap?: number };

/** A float model's input: already integer (tokens, bits), or real values to quantize to 8 bits. */
export type FloatInput = IntegerInput | { readonly kind: "float"; readonly size: number };

export interface FloatModel {
  readonly input: FloatInput;
  readonly layers: readonly FloatLayer[];
  readonly classes: number;
}

export interface QuantizeOptions {
  /** Input samples whose activations set the requantization shifts. */
  readonly calibration: readonly (readonly number[])[];
  /** Bits of dense weights (signed). @defaultValue 8 */
  readonly weightBits?: number;
  /** Bits of positional-table entries (signed); only C of them are summed, so they can be wider. @defaultValue 12 */
  readonly tableBits?: number;
  /** Activations are unsigned integers below 2^activationBits. @defaultValue 8 */
  readonly activationBits?: number;
  /** Fraction of calibration activations that must not saturate. @defaultValue 0.9999 */
  readonly percentile?: number;
}

export interface QuantizeResult {
  readonly model: IntegerModel;
  /** Real value of one unit of each linear layer's output (the last one: of a logit). */
  readonly outputScales: readonly number[];
  readonly shifts: readonly number[];
  readonly maxIntermediate: number;
}

/** Float forward pass of one sample, returning every layer's output. */
export function runFloatModel(model: FloatModel, sample: readonly number[]): Float64Array[] {
  const outputs: Float64Array[] = [];
  let x = Float64Array.from(sample);
  for (const layer of model.layers) {
    if (layer.kind === "positional_tables") {
      const y = Float64Array.from(layer.bias);
      for (let p = 0; p < layer.context; p++) {
        const row = (p * layer.vocabSize + x[p]) * layer.width;
        for (let j = 0; j < layer.width; j++) y[j] += layer.table[row + j];
      }
      x = y;
    } else if (layer.kind === "dense") {
      const y = Float64Array.from(layer.bias);
      for (let i = 0; i < layer.inputs; i++) {
        if (x[i] === 0) continue;
        for (let j = 0; j < layer.outputs; j++) y[j] += x[i] * layer.weight[i * layer.outputs + j];
      }
      x = y;
    } else {
      const cap = layer.cap ?? Infinity;
      x = x.map((v) => Math.min(Math.max(v, 0), cap));
    }
    outputs.push(x);
  }
  return outputs;
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m || 1;
}

function quantizeArray(values: Float32Array, scale: number): Int32Array {
  return Int32Array.from(values, (v) => Math.round(v / scale));
}

function percentileOf(values: number[], fraction: number): number {
  if (values.length === 0) return 1;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(fraction * values.length))] || 1;
}

/**
 * 8-bit input quantization from calibration samples: unsigned [0, 255] when no sample is negative
 * (pixels, probabilities), else signed [−127, 127]; the scale maps the largest magnitude seen to the end.
 */
export function chooseInputQuantization(
  size: number,
  calibration: readonly (readonly number[])[],
): IntegerInput & { kind: "int" } {
  let min = 0;
  let maxAbs = 0;
  for (const s of calibration)
    for (const v of s) {
      min = Math.min(min, v);
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
  maxAbs ||= 1;
  return min >= 0
    ? { kind: "int", size, min: 0, max: 255, scale: maxAbs / 255 }
    : { kind: "int", size, min: -127, max: 127, scale: maxAbs / 127 };
}

/** Real input values → the integers an "int" input takes (round to nearest, saturate). */
export function quantizeInput(input: IntegerInput & { kind: "int" }, values: readonly number[]): number[] {
  return values.map((v) => Math.min(input.max, Math.max(input.min, Math.round(v / input.scale))));
}

export function quantizeModel(model: FloatModel, options: QuantizeOptions): QuantizeResult {
  const weightBits = options.weightBits ?? 8;
  const tableBits = options.tableBits ?? 12;
  const activationMax = 2 ** (options.activationBits ?? 8) - 1;
  const percentile = options.percentile ?? 0.9999;
  if (options.calibration.length === 0) throw new Error("quantizeModel: calibration needs at least one sample");
  const floatOutputs = options.calibration.map((s) => runFloatModel(model, s));

  const layers: IntegerLayer[] = [];
  const outputScales: number[] = [];
  const cappedShifts: number[] = [];
  // the smallest shift that keeps the calibration's `percentile` of activations below activationMax
  const percentileShift = (activations: number[], accScale: number) =>
    Math.max(1, Math.ceil(Math.log2(percentileOf(activations, percentile) / (accScale * activationMax))));
  const shifts: number[] = [];
  // bits inputs are exact integers; token inputs only index tables, so their scale never enters
  const input: IntegerInput =
    model.input.kind === "float" ? chooseInputQuantization(model.input.size, options.calibration) : model.input;
  let inputScale = input.kind === "int" ? input.scale : 1;
  model.layers.forEach((layer, i) => {
    if (layer.kind === "relu") {
      const prev = layers[layers.length - 1];
      if (!prev || prev.kind === "requantize")
        throw new Error(`quantizeModel: layer ${i} (relu) must follow a linear layer`);
      const accScale = outputScales[outputScales.length - 1];
      const shift =
        layer.cap !== undefined
          ? cappedShifts[i]
          : percentileShift(
              floatOutputs.flatMap((o) => Array.from(o[i]).filter((v) => v > 0)),
              accScale,
            );
      // round to nearest: add half a step before the floor, folded into the bias
      const bias = prev.bias;
      for (let j = 0; j < bias.length; j++) bias[j] += 2 ** (shift - 1);
      const width = prev.kind === "dense" ? prev.outputs : prev.width;
      layers.push({ kind: "requantize", width, shift, max: activationMax });
      shifts.push(shift);
      inputScale = accScale * 2 ** shift;
      return;
    }
    if (layer.kind === "positional_tables") {
      if (model.layers[i + 1]?.kind === "relu" && (model.layers[i + 1] as { cap?: number }).cap !== undefined)
        throw new Error("quantizeModel: a capped ReLU after positional tables is not supported");
      const scale = maxAbs(layer.table) / (2 ** (tableBits - 1) - 1);
      layers.push({ ...layer, table: quantizeArray(layer.table, scale), bias: quantizeArray(layer.bias, scale) });
      outputScales.push(scale);
    } else {
      const next = model.layers[i + 1];
      let weightScale = maxAbs(layer.weight) / (2 ** (weightBits - 1) - 1);
      if (next?.kind === "relu" && next.cap !== undefined) {
        // saturate exactly at the cap: pick the weight scale so that 2^shift units of the
        // accumulator are cap / activationMax, with the largest shift whose weights still fit
        const activationScale = next.cap / activationMax;
        const shift = Math.max(
          1,
          Math.floor(Math.log2((activationScale * (2 ** (weightBits - 1) - 1)) / (inputScale * maxAbs(layer.weight)))),
        );
        cappedShifts[i + 1] = shift;
        weightScale = activationScale / (2 ** shift * inputScale);
      }
      const accScale = inputScale * weightScale;
      layers.push({
        ...layer,
        weight: quantizeArray(layer.weight, weightScale),
        bias: quantizeArray(layer.bias, accScale),
      });
      outputScales.push(accScale);
    }
  });
  const result: IntegerModel = { input, layers, classes: model.classes };
  return { model: result, outputScales, shifts, maxIntermediate: maxIntermediate(result) };
}
