/**
 * Imports an ordinary float ONNX model, as torch.onnx.export or tf2onnx write it, into a `FloatModel`
 * chain linear → relu → linear → … → linear that `quantizeModel` can make integer-exact.
 *
 * One pass walks the node chain from the single input. Between two ReLUs every op is affine, so the
 * walk keeps one open affine map per segment: elementwise constants and consecutive Gemm/MatMul fold
 * into it, and a ReLU (or the end) closes it into one dense or positional-tables layer.
 *
 * Operands that must be constants may also be computed: Concat/Gather/Slice/… of constants fold, and
 * so do shape sub-graphs (`x.view(x.size(0), -1)` exports Shape → Gather → Unsqueeze → Concat →
 * Reshape), where Shape of a chain value is [batch, ...its sample shape] with a symbolic batch.
 */
import onnxProto from "onnx-proto";
import type { FloatInput, FloatLayer, FloatModel } from "../model/quantize.js";

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Int = number | { toNumber(): number };

export interface ImportedModel {
  readonly model: FloatModel;
  readonly inputName: string;
  readonly outputName: string;
  /** The graph ends with an ArgMax over the logits (the model's last linear layer). */
  readonly argmax: boolean;
  /** One line per chain node saying what became of it. */
  readonly ops: string[];
}

const SUPPORTED = [
  "Gemm",
  "MatMul",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Relu",
  "Clip",
  "Flatten",
  "Reshape",
  "Identity",
  "Dropout",
  "Cast",
  "Gather",
  "ArgMax",
  "Softmax",
  "LogSoftmax",
  "Constant",
  "Shape, Concat, Slice, Squeeze, Unsqueeze (on constants and shapes)",
];

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A constant; int64 values are held as numbers (shapes, indices), a symbolic batch size as BATCH. */
export interface Tensor {
  readonly dims: number[];
  readonly data: Float64Array;
}

/** The tensor flowing along the chain; `shape` excludes the batch dimension. */
interface Value {
  name: string;
  dtype: "float" | "int64";
  shape: number[];
}

/** An affine map from the segment's input (flattened) to the current value: y = x·weight + bias. */
interface Linear {
  rows: number;
  cols: number;
  weight: Float64Array;
  bias: Float64Array;
}

/**
 * The batch size in a folded shape value. Shape values are only copied around (Gather, Concat, …),
 * never computed with, so NaN survives every fold and cannot be mistaken for a real dimension.
 */
const BATCH = Number.NaN;

const num = (v: Int | null | undefined): number => (v == null ? 0 : typeof v === "number" ? v : v.toNumber());
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
export const nodeLabel = (node: Node): string => `${node.opType} (node "${node.name || node.output?.[0] || "?"}")`;

export function decodeTensor(t: onnxProto.onnx.ITensorProto, what: string): Tensor {
  const dims = (t.dims ?? []).map(num);
  const size = product(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new Error(`${what}: external tensor data is not supported`);
  const raw =
    t.rawData && t.rawData.length > 0
      ? new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength)
      : null;
  const data = new Float64Array(size);
  if (t.dataType === FLOAT) {
    if (raw ? raw.byteLength !== 4 * size : (t.floatData?.length ?? 0) !== size)
      throw new Error(`${what}: float data does not match dims [${dims}]`);
    for (let i = 0; i < size; i++) data[i] = raw ? raw.getFloat32(4 * i, true) : t.floatData![i];
  } else if (t.dataType === INT64) {
    if (raw ? raw.byteLength !== 8 * size : (t.int64Data?.length ?? 0) !== size)
      throw new Error(`${what}: int64 data does not match dims [${dims}]`);
    for (let i = 0; i < size; i++) data[i] = raw ? Number(raw.getBigInt64(8 * i, true)) : num(t.int64Data![i]);
  } else {
    const type = onnx.TensorProto.DataType[t.dataType ?? 0] ?? t.dataType;
    throw new Error(`${what}: dtype ${type} is not supported (only FLOAT and INT64)`);
  }
  return { dims, data };
}

/** Broadcasts a constant against a [batch, ...shape] value, flattened to prod(shape) entries. */
function broadcast(t: Tensor, shape: readonly number[], where: string): Float64Array {
  const full = [1, ...shape];
  const offset = full.length - t.dims.length;
  if (offset < 0) throw new Error(`${where}: constant of shape [${t.dims}] does not broadcast to [batch,${shape}]`);
  const strides = full.map(() => 0);
  for (let k = t.dims.length - 1, stride = 1; k >= 0; stride *= t.dims[k], k--) {
    const d = t.dims[k];
    if (d !== 1 && (k + offset === 0 || d !== full[k + offset])) {
      throw new Error(`${where}: constant of shape [${t.dims}] does not broadcast to [batch,${shape}]`);
    }
    strides[k + offset] = d === 1 ? 0 : stride;
  }
  const out = new Float64Array(product(shape));
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let index = 0;
    for (let k = full.length - 1; k >= 1; k--) {
      index += (rest % full[k]) * strides[k];
      rest = Math.floor(rest / full[k]);
    }
    out[i] = t.data[index];
  }
  return out;
}

class Importer {
  private readonly constants = new Map<string, onnxProto.onnx.ITensorProto>();
  private readonly decoded = new Map<string, Tensor>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly producers = new Map<string, Node>();
  /** Sample shape of every chain value walked so far: what Shape of it folds to. */
  private readonly shapes = new Map<string, number[]>();
  /** Nodes evaluated as constants (shape sub-graphs, Concat of constants): on no chain, yet used. */
  private readonly folded = new Set<Node>();
  private readonly graphOutputs: string[];
  readonly ops: string[] = [];
  readonly layers: FloatLayer[] = [];

  cur: Value;
  readonly inputName: string;
  batchIsOne: boolean;
  tokens: { vocabSize: number; context: number } | null = null;
  /** Open affine map of the current segment, once a linear op has been seen in it. */
  open: (Linear & { positional: boolean }) | null = null;
  /** Before the segment's first linear op: elementwise scale/shift on the value, and the embedding table. */
  pre: { scale: Float64Array; shift: Float64Array; node: Node } | null = null;
  embedding: { table: Tensor; node: Node } | null = null;
  /** Set by ArgMax / Softmax: what follows must be nothing (or ArgMax after Softmax). */
  finalOp: string | null = null;
  argmax = false;
  logitsName: string | null = null;

  constructor(
    readonly graph: onnxProto.onnx.IGraphProto,
    readonly opset: number,
  ) {
    for (const t of graph.initializer ?? []) this.constants.set(t.name ?? "", t);
    for (const node of graph.node ?? []) {
      if (node.opType === "Constant" && !node.domain)
        this.constants.set(node.output?.[0] ?? "", constantNodeTensor(node));
      for (const name of new Set(node.input ?? []))
        if (name) this.consumers.set(name, [...(this.consumers.get(name) ?? []), node]);
      for (const name of node.output ?? []) if (name) this.producers.set(name, node);
    }
    const inputs = (graph.input ?? []).filter((i) => !this.constants.has(i.name ?? ""));
    if (inputs.length !== 1)
      throw new Error(
        `onnx import: expected one graph input, found ${inputs.length} (${inputs.map((i) => i.name).join(", ")})`,
      );
    this.graphOutputs = (graph.output ?? []).map((o) => o.name ?? "");
    const input = inputs[0];
    const tensorType = input.type?.tensorType;
    const dtype = tensorType?.elemType === FLOAT ? "float" : tensorType?.elemType === INT64 ? "int64" : null;
    if (!dtype)
      throw new Error(
        `onnx import: input "${input.name}" has element type ${tensorType?.elemType}; only float and int64 inputs are supported`,
      );
    const dims = (tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue)));
    if (dims.length < 2)
      throw new Error(`onnx import: input "${input.name}" needs a batch dimension and a sample shape, got [${dims}]`);
    const [batch, ...sample] = dims;
    if (typeof batch === "number" && batch > 1)
      throw new Error(`onnx import: input "${input.name}" has batch dimension ${batch}; it must be symbolic or 1`);
    if (sample.some((d) => typeof d !== "number" || d <= 0))
      throw new Error(`onnx import: input "${input.name}" has a non-concrete sample shape [${dims}]`);
    this.batchIsOne = batch === 1;
    this.inputName = input.name ?? "";
    this.cur = { name: this.inputName, dtype, shape: sample as number[] };
    this.shapes.set(this.cur.name, [...this.cur.shape]);
  }

  /** A constant operand of `node`; `batch` allows it to hold the symbolic batch size (Reshape targets). */
  constant(node: Node, name: string | null | undefined, batch = false): Tensor {
    const t = name ? this.evaluate(name, node) : null;
    if (!t) throw new Error(`${nodeLabel(node)}: operand "${name ?? ""}" is not a constant`);
    if (!batch && t.data.some(Number.isNaN))
      throw new Error(`${nodeLabel(node)}: operand "${name}" depends on the batch size`);
    return t;
  }

  /** The value of a constant or of a foldable sub-graph of constants and Shapes; null when it depends on data. */
  evaluate(name: string, user: Node): Tensor | null {
    const cached = this.decoded.get(name);
    if (cached) return cached;
    let t: Tensor | null;
    const proto = this.constants.get(name);
    const node = this.producers.get(name);
    if (proto) {
      t = decodeTensor(proto, `${nodeLabel(user)}: constant "${name}"`);
    } else {
      const fold = node && !node.domain ? FOLDS[node.opType ?? ""] : undefined;
      if (!node || !fold || node.output?.[0] !== name) return null;
      // Shape reads only the static shape of its (data) input; every other fold needs constant inputs
      const args = (node.input ?? []).map((n) => (n ? this.evaluate(n, node) : undefined));
      if (node.opType !== "Shape" && args.includes(null)) return null;
      t = fold(this, node, args);
      if (!t) return null;
      this.folded.add(node);
    }
    this.decoded.set(name, t);
    return t;
  }

  /** Folds Shape(value): [batch, ...sample shape], sliced by start/end (opset 15). */
  shapeOf(node: Node): Tensor | null {
    const sample = this.shapes.get(node.input?.[0] ?? "");
    if (!sample) return null;
    const full = [this.batchIsOne ? 1 : BATCH, ...sample];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + full.length : v, 0), full.length);
    const data = full.slice(clamp(this.int(node, "start", 0)), clamp(this.int(node, "end", full.length)));
    return { dims: [data.length], data: Float64Array.from(data) };
  }

  /** An int list given as an input (newer opsets) or as an attribute (older ones); undefined when absent. */
  ints(node: Node, arg: Tensor | null | undefined, attr: string): number[] | undefined {
    if (arg) return Array.from(arg.data);
    const a = this.attr(node, attr);
    return a ? (a.ints ?? []).map(num) : undefined;
  }

  /** True when `name` carries data from the input (not a constant, not a shape of a chain value). */
  isData(name: string): boolean {
    if (this.constants.has(name)) return false;
    const node = this.producers.get(name);
    if (!node) return name === this.inputName;
    return node.opType !== "Shape" && (node.input ?? []).some((n) => n && this.isData(n));
  }

  attr(node: Node, name: string): onnxProto.onnx.IAttributeProto | undefined {
    return node.attribute?.find((a) => a.name === name);
  }

  int(node: Node, name: string, fallback: number): number {
    const a = this.attr(node, name);
    return a ? num(a.i) : fallback;
  }

  float(node: Node, name: string, fallback: number): number {
    const a = this.attr(node, name);
    return a ? (a.type === onnx.AttributeProto.AttributeType.INT ? num(a.i) : (a.f ?? fallback)) : fallback;
  }

  /** The walk: follow the single consumer of the current value until none is left. */
  run(): ImportedModel {
    const inputName = this.inputName;
    // a Concat of data would join two branches of the chain; say so before the branch itself is hit
    for (const node of this.graph.node ?? []) {
      const data = node.opType === "Concat" ? (node.input ?? []).filter((n) => n && this.isData(n)) : [];
      if (data.length)
        throw new Error(
          `${nodeLabel(node)}: concatenates data tensors (${data.map((n) => `"${n}"`).join(", ")}); only constants and shape values can be concatenated`,
        );
    }
    const visited = new Set<Node>();
    for (;;) {
      // Shape reads only the sample shape, which is static: it is not a branch of the data
      const next = (this.consumers.get(this.cur.name) ?? []).filter((n) => n.opType !== "Shape");
      if (next.length === 0) break;
      if (next.length > 1)
        throw new Error(
          `${this.producerLabel()}: its output "${this.cur.name}" feeds ${next.length} nodes (${next.map((n) => `"${n.name}"`).join(", ")}); only a straight chain is supported`,
        );
      const node = next[0];
      if (this.graphOutputs.includes(this.cur.name) && node.opType !== "ArgMax") {
        throw new Error(
          `${nodeLabel(node)}: reads "${this.cur.name}", which is also a graph output; only a final ArgMax may follow an output`,
        );
      }
      if (this.finalOp && !(this.finalOp !== "ArgMax" && node.opType === "ArgMax"))
        throw new Error(`${nodeLabel(node)}: nothing may follow ${this.finalOp}`);
      const handler = node.domain && node.domain !== "ai.onnx" ? undefined : HANDLERS[node.opType ?? ""];
      if (!handler)
        throw new Error(
          `unsupported op ${node.domain ? `${node.domain}.` : ""}${node.opType} (node "${node.name}"); supported: ${SUPPORTED.join(", ")}`,
        );
      for (const extra of (node.output ?? []).slice(1)) {
        if (extra && (this.consumers.has(extra) || this.graphOutputs.includes(extra)))
          throw new Error(`${nodeLabel(node)}: its extra output "${extra}" is used; only the first output may be`);
      }
      this.producer = node;
      this.ops.push(`${nodeLabel(node)}: ${handler(this, node)}`);
      this.cur.name = node.output?.[0] ?? "";
      this.shapes.set(this.cur.name, [...this.cur.shape]);
      visited.add(node);
    }
    const leftover = (this.graph.node ?? []).find(
      (n) => !visited.has(n) && !this.folded.has(n) && n.opType !== "Constant",
    );
    if (leftover)
      throw new Error(
        `${nodeLabel(leftover)}: not on the chain from input "${inputName}" to the output; only a straight chain is supported`,
      );
    const expectedOutputs = new Set([this.cur.name, ...(this.argmax && this.logitsName ? [this.logitsName] : [])]);
    if (!this.graphOutputs.includes(this.cur.name) || this.graphOutputs.some((o) => !expectedOutputs.has(o))) {
      throw new Error(
        `onnx import: the chain ends at "${this.cur.name}" but the graph outputs are ${this.graphOutputs.map((o) => `"${o}"`).join(", ")}`,
      );
    }
    if (this.pre)
      throw new Error(
        `${nodeLabel(this.pre.node)}: constant arithmetic at the end of the model cannot be folded into a linear layer`,
      );
    if (!this.open)
      throw new Error(
        `onnx import: the model must end with a linear layer (Gemm or MatMul), not ${this.layers.length ? "Relu" : "without one"}`,
      );
    this.closeSegment();
    const first = this.layers[0];
    const input: FloatInput = this.tokens
      ? { kind: "tokens", ...this.tokens }
      : { kind: "float", size: first.kind === "dense" ? first.inputs : 0 };
    const last = this.layers[this.layers.length - 1];
    const classes = last.kind === "dense" ? last.outputs : last.kind === "positional_tables" ? last.width : 0;
    return {
      model: { input, layers: this.layers, classes },
      inputName,
      outputName: this.cur.name,
      argmax: this.argmax,
      ops: this.ops,
    };
  }

  private producer: Node | null = null;
  private producerLabel(): string {
    return this.producer ? nodeLabel(this.producer) : `input "${this.cur.name}"`;
  }

  requireFloat(node: Node, rank1 = false): void {
    if (this.cur.dtype !== "float")
      throw new Error(`${nodeLabel(node)}: expects a float tensor, got int64 "${this.cur.name}"`);
    if (rank1 && this.cur.shape.length !== 1)
      throw new Error(
        `${nodeLabel(node)}: expects a [batch, features] tensor, got [batch,${this.cur.shape}] (Flatten it first)`,
      );
  }

  /** The constant operand of a binary op, and whether the chain value is the first operand. */
  binary(node: Node): { other: Tensor; curFirst: boolean } {
    const inputs = node.input ?? [];
    if (inputs.length !== 2) throw new Error(`${nodeLabel(node)}: expects two operands`);
    const curFirst = inputs[0] === this.cur.name;
    return { other: this.constant(node, curFirst ? inputs[1] : inputs[0]), curFirst };
  }

  /** value ← value · scale + shift, elementwise over the flattened value. */
  affine(node: Node, scale: Float64Array | null, shift: Float64Array | null): string {
    if (this.open) {
      const { weight, bias, cols } = this.open;
      for (let j = 0; j < cols; j++) {
        const s = scale ? scale[j] : 1;
        const c = shift ? shift[j] : 0;
        bias[j] = bias[j] * s + c;
        if (s !== 1) for (let r = j; r < weight.length; r += cols) weight[r] *= s;
      }
      return "folded into the preceding linear layer";
    }
    const n = product(this.cur.shape);
    this.pre ??= { scale: new Float64Array(n).fill(1), shift: new Float64Array(n), node };
    for (let i = 0; i < n; i++) {
      const s = scale ? scale[i] : 1;
      this.pre.scale[i] *= s;
      this.pre.shift[i] = this.pre.shift[i] * s + (shift ? shift[i] : 0);
    }
    return "folded into the next linear layer";
  }

  /** value ← value · W + b, with W [K, M] row-major. */
  linear(w: Float64Array, b: Float64Array, k: number, m: number): string {
    if (this.open) {
      const { rows, weight, bias, positional } = this.open;
      const composed = new Float64Array(rows * m);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < k; i++) {
          const v = weight[r * k + i];
          if (v !== 0) for (let j = 0; j < m; j++) composed[r * m + j] += v * w[i * m + j];
        }
      }
      const newBias = Float64Array.from(b);
      for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) newBias[j] += bias[i] * w[i * m + j];
      this.open = { rows, cols: m, weight: composed, bias: newBias, positional };
      return `linear ${k}→${m}, composed with the preceding linear layer`;
    }
    const scale = this.pre?.scale;
    const shift = this.pre?.shift;
    const bias = Float64Array.from(b);
    if (shift) for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) bias[j] += shift[i] * w[i * m + j];
    if (this.embedding) {
      // table[p·V + t][j] = Σ_d scale·E[t][d] · W[p·D + d][j]: one row per (position, token)
      const { vocabSize: vocab, context } = this.tokens!;
      const e = this.embedding.table.data;
      const dim = k / context;
      const table = new Float64Array(context * vocab * m);
      for (let p = 0; p < context; p++) {
        for (let t = 0; t < vocab; t++) {
          const row = (p * vocab + t) * m;
          for (let d = 0; d < dim; d++) {
            const i = p * dim + d;
            const v = e[t * dim + d] * (scale ? scale[i] : 1);
            if (v !== 0) for (let j = 0; j < m; j++) table[row + j] += v * w[i * m + j];
          }
        }
      }
      this.open = { rows: context * vocab, cols: m, weight: table, bias, positional: true };
      this.embedding = null;
      this.pre = null;
      return `positional tables ${context}×${vocab}→${m} (embedding fused)`;
    }
    const weight = Float64Array.from(w);
    if (scale) for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) weight[i * m + j] *= scale[i];
    this.open = { rows: k, cols: m, weight, bias, positional: false };
    this.pre = null;
    return `linear ${k}→${m}`;
  }

  relu(node: Node, cap?: number): string {
    this.requireFloat(node);
    if (this.pre)
      throw new Error(`${nodeLabel(this.pre.node)}: constant arithmetic before a ReLU must follow a linear layer`);
    if (!this.open) {
      if (this.layers[this.layers.length - 1]?.kind === "relu") return "dropped (ReLU of a ReLU)";
      throw new Error(`${nodeLabel(node)}: a ReLU must follow a linear layer`);
    }
    this.closeSegment();
    this.layers.push(cap === undefined ? { kind: "relu" } : { kind: "relu", cap });
    return cap === undefined ? "relu" : `relu capped at ${cap}`;
  }

  closeSegment(): void {
    const o = this.open!;
    const weight = Float32Array.from(o.weight);
    const bias = Float32Array.from(o.bias);
    this.layers.push(
      o.positional
        ? {
            kind: "positional_tables",
            vocabSize: this.tokens!.vocabSize,
            context: this.tokens!.context,
            width: o.cols,
            table: weight,
            bias,
          }
        : { kind: "dense", inputs: o.rows, outputs: o.cols, weight, bias },
    );
    this.open = null;
  }

  /** Reshape/Flatten: any layout change that keeps the batch dimension leaves the flattened sample as is. */
  reshape(node: Node, shape: number[]): string {
    if (product(shape) !== product(this.cur.shape))
      throw new Error(`${nodeLabel(node)}: cannot reshape [batch,${this.cur.shape}] to [batch,${shape}]`);
    const from = this.cur.shape;
    this.cur.shape = shape;
    return `[batch,${from}] → [batch,${shape}]`;
  }

  normalizeAxis(node: Node, axis: number): number {
    const rank = this.cur.shape.length + 1;
    if (axis < -rank || axis >= rank)
      throw new Error(`${nodeLabel(node)}: axis ${axis} is out of range for rank ${rank}`);
    return axis < 0 ? axis + rank : axis;
  }
}

export function constantNodeTensor(node: Node): onnxProto.onnx.ITensorProto {
  const a = node.attribute?.[0];
  if (!a || node.attribute!.length !== 1) throw new Error(`${nodeLabel(node)}: expects exactly one value attribute`);
  switch (a.name) {
    case "value":
      return a.t ?? {};
    case "value_float":
      return { dataType: FLOAT, dims: [], floatData: [a.f ?? 0] };
    case "value_floats":
      return { dataType: FLOAT, dims: [a.floats?.length ?? 0], floatData: a.floats ?? [] };
    case "value_int":
      return { dataType: INT64, dims: [], int64Data: [a.i ?? 0] };
    case "value_ints":
      return { dataType: INT64, dims: [a.ints?.length ?? 0], int64Data: a.ints ?? [] };
    default:
      throw new Error(`${nodeLabel(node)}: attribute ${a.name} is not supported`);
  }
}

type Handler = (im: Importer, node: Node) => string;

const passThrough: Handler = () => "pass-through";

const HANDLERS: Record<string, Handler> = {
  Gemm(im, node) {
    im.requireFloat(node, true);
    const [a, b, c] = node.input ?? [];
    if (a !== im.cur.name) throw new Error(`${nodeLabel(node)}: the layer input must be operand A`);
    if (im.int(node, "transA", 0) !== 0) throw new Error(`${nodeLabel(node)}: transA=1 is not supported`);
    const transB = im.int(node, "transB", 0) !== 0;
    const alpha = im.float(node, "alpha", 1);
    const beta = im.float(node, "beta", 1);
    const B = im.constant(node, b);
    const k = im.cur.shape[0];
    if (B.dims.length !== 2 || B.dims[transB ? 1 : 0] !== k)
      throw new Error(
        `${nodeLabel(node)}: weight of shape [${B.dims}] does not fit ${k} inputs (transB=${Number(transB)})`,
      );
    const m = B.dims[transB ? 0 : 1];
    const w = new Float64Array(k * m);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < m; j++) w[i * m + j] = alpha * B.data[transB ? j * k + i : i * m + j];
    const bias = c ? broadcast(im.constant(node, c), [m], nodeLabel(node)).map((v) => beta * v) : new Float64Array(m);
    const what = im.linear(w, bias, k, m);
    im.cur.shape = [m];
    return what;
  },
  MatMul(im, node) {
    im.requireFloat(node, true);
    const [a, b] = node.input ?? [];
    if (a !== im.cur.name) throw new Error(`${nodeLabel(node)}: the layer input must be the left operand`);
    const B = im.constant(node, b);
    const k = im.cur.shape[0];
    if (B.dims.length !== 2 || B.dims[0] !== k)
      throw new Error(`${nodeLabel(node)}: weight of shape [${B.dims}] does not fit ${k} inputs`);
    const m = B.dims[1];
    const what = im.linear(B.data, new Float64Array(m), k, m);
    im.cur.shape = [m];
    return what;
  },
  Add(im, node) {
    im.requireFloat(node);
    const { other } = im.binary(node);
    return im.affine(node, null, broadcast(other, im.cur.shape, nodeLabel(node)));
  },
  Sub(im, node) {
    im.requireFloat(node);
    const { other, curFirst } = im.binary(node);
    const v = broadcast(other, im.cur.shape, nodeLabel(node));
    // x − c, or c − x = (−1)·x + c
    return curFirst
      ? im.affine(
          node,
          null,
          v.map((x) => -x),
        )
      : im.affine(node, new Float64Array(v.length).fill(-1), v);
  },
  Mul(im, node) {
    im.requireFloat(node);
    const { other } = im.binary(node);
    return im.affine(node, broadcast(other, im.cur.shape, nodeLabel(node)), null);
  },
  Div(im, node) {
    im.requireFloat(node);
    const { other, curFirst } = im.binary(node);
    if (!curFirst) throw new Error(`${nodeLabel(node)}: dividing a constant by the layer's value is not affine`);
    return im.affine(
      node,
      broadcast(other, im.cur.shape, nodeLabel(node)).map((x) => 1 / x),
      null,
    );
  },
  Relu: (im, node) => im.relu(node),
  Clip(im, node) {
    // opset ≥ 11 takes min/max as inputs, older opsets as attributes
    const bound = (index: number, attr: string, none: number): number => {
      const name = node.input?.[index];
      if (name) {
        const t = im.constant(node, name);
        if (t.data.length !== 1) throw new Error(`${nodeLabel(node)}: ${attr} must be a scalar`);
        return t.data[0];
      }
      return im.float(node, attr, none);
    };
    const min = bound(1, "min", -Infinity);
    const max = bound(2, "max", Infinity);
    if (min === -Infinity && max === Infinity) return "pass-through (no bounds)";
    if (min !== 0)
      throw new Error(
        `${nodeLabel(node)}: min ${min} is not supported; only Clip(min=0[, max > 0]) (a ReLU, capped or not)`,
      );
    if (!(max > 0)) throw new Error(`${nodeLabel(node)}: max ${max} must be above 0`);
    return `${im.relu(node, Number.isFinite(max) ? max : undefined)} (Clip)`;
  },
  Flatten(im, node) {
    if (im.normalizeAxis(node, im.int(node, "axis", 1)) !== 1)
      throw new Error(`${nodeLabel(node)}: only axis 1 keeps the batch dimension`);
    return im.reshape(node, [product(im.cur.shape)]);
  },
  Reshape(im, node) {
    if (im.int(node, "allowzero", 0) !== 0) throw new Error(`${nodeLabel(node)}: allowzero=1 is not supported`);
    const target = Array.from(im.constant(node, node.input?.[1], true).data);
    const [batch, ...rest] = target;
    const shown = target.map((d) => (Number.isNaN(d) ? "batch" : d));
    // 0 copies the batch dimension, a folded Shape yields it symbolically (BATCH)
    if (!(Number.isNaN(batch) || batch === 0 || batch === -1 || (batch === 1 && im.batchIsOne)))
      throw new Error(`${nodeLabel(node)}: target [${shown}] does not keep the batch dimension first`);
    const dims = rest.map((d, i) => (d === 0 ? im.cur.shape[i] : d));
    const known = product(dims.filter((d) => d !== -1));
    const inferred = dims.filter((d) => d === -1).length;
    if (inferred > (batch === -1 ? 0 : 1) || dims.some((d) => d === undefined || Number.isNaN(d) || d < -1))
      throw new Error(`${nodeLabel(node)}: target [${shown}] is not a [batch, …] shape`);
    return im.reshape(
      node,
      dims.map((d) => (d === -1 ? product(im.cur.shape) / known : d)),
    );
  },
  Identity: passThrough,
  Dropout(im, node) {
    const training = node.input?.[2];
    if (training && im.constant(node, training).data[0] !== 0)
      throw new Error(`${nodeLabel(node)}: training_mode=true is not an inference model`);
    return "pass-through (inference)";
  },
  Cast(im, node) {
    const to = im.int(node, "to", 0);
    if (to !== (im.cur.dtype === "float" ? FLOAT : INT64))
      throw new Error(
        `${nodeLabel(node)}: cast of ${im.cur.dtype} to ${onnx.TensorProto.DataType[to] ?? to} is not supported`,
      );
    return "pass-through";
  },
  Gather(im, node) {
    const [data, indices] = node.input ?? [];
    if (im.cur.dtype !== "int64" || indices !== im.cur.name)
      throw new Error(
        `${nodeLabel(node)}: only an embedding lookup (constant table indexed by the int64 token input) is supported`,
      );
    if (im.int(node, "axis", 0) !== 0) throw new Error(`${nodeLabel(node)}: only axis 0 (embedding rows) is supported`);
    if (im.cur.shape.length !== 1)
      throw new Error(`${nodeLabel(node)}: token input must be [batch, context], got [batch,${im.cur.shape}]`);
    const table = im.constant(node, data);
    if (table.dims.length !== 2)
      throw new Error(`${nodeLabel(node)}: embedding table must be [vocab, dim], got [${table.dims}]`);
    const [vocabSize, dim] = table.dims;
    const context = im.cur.shape[0];
    im.tokens = { vocabSize, context };
    im.embedding = { table, node };
    im.cur.dtype = "float";
    im.cur.shape = [context, dim];
    return `embedding ${vocabSize}×${dim} over ${context} positions`;
  },
  ArgMax(im, node) {
    im.requireFloat(node, true);
    if (im.normalizeAxis(node, im.int(node, "axis", 0)) !== 1)
      throw new Error(`${nodeLabel(node)}: only the last axis (1) is supported`);
    if (im.int(node, "select_last_index", 0) !== 0)
      throw new Error(`${nodeLabel(node)}: select_last_index=1 is not supported`);
    im.logitsName = im.cur.name;
    im.argmax = true;
    im.finalOp = "ArgMax";
    return `argmax over ${im.cur.shape[0]} classes`;
  },
  Softmax: dropMonotone,
  LogSoftmax: dropMonotone,
};

/** Folds of constant (or shape) operands: each gets its inputs' values, undefined for an omitted optional one. */
type Fold = (im: Importer, node: Node, args: readonly (Tensor | null | undefined)[]) => Tensor | null;

const strides = (dims: readonly number[]): number[] => dims.map((_, k) => product(dims.slice(k + 1)));
const axisOf = (node: Node, axis: number, rank: number): number => {
  if (axis < -rank || axis >= rank)
    throw new Error(`${nodeLabel(node)}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
};

/** The sub-tensor taking, along each axis k, the entries picks[k] (in that order). */
function select(t: Tensor, picks: readonly number[][]): Tensor {
  const dims = picks.map((p) => p.length);
  const st = strides(t.dims);
  const data = new Float64Array(product(dims));
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let index = 0;
    for (let k = dims.length - 1; k >= 0; k--) {
      index += picks[k][rest % dims[k]] * st[k];
      rest = Math.floor(rest / dims[k]);
    }
    data[i] = t.data[index];
  }
  return { dims, data };
}

const every = (dims: readonly number[]): number[][] => dims.map((d) => Array.from({ length: d }, (_, i) => i));
const FLOAT_TYPES = new Set([
  onnx.TensorProto.DataType.FLOAT,
  onnx.TensorProto.DataType.DOUBLE,
  onnx.TensorProto.DataType.FLOAT16,
  onnx.TensorProto.DataType.BFLOAT16,
]);

const FOLDS: Record<string, Fold> = {
  Shape: (im, node) => im.shapeOf(node),
  Identity: (_im, _node, [x]) => x!,
  Cast: (im, node, [x]) =>
    FLOAT_TYPES.has(im.int(node, "to", 0)) ? x! : { dims: x!.dims, data: x!.data.map(Math.trunc) },
  Gather(im, node, [data, indices]) {
    const axis = axisOf(node, im.int(node, "axis", 0), data!.dims.length);
    const n = data!.dims[axis];
    const picks = every(data!.dims);
    picks[axis] = Array.from(indices!.data, (i) => {
      if (!(i >= -n && i < n)) throw new Error(`${nodeLabel(node)}: index ${i} is out of range for ${n} entries`);
      return i < 0 ? i + n : i;
    });
    const { data: values } = select(data!, picks);
    return { dims: [...data!.dims.slice(0, axis), ...indices!.dims, ...data!.dims.slice(axis + 1)], data: values };
  },
  Slice(im, node, [data, starts, ends, axes, steps]) {
    const rank = data!.dims.length;
    const from = im.ints(node, starts, "starts") ?? [];
    const to = im.ints(node, ends, "ends") ?? [];
    const along = im.ints(node, axes, "axes") ?? from.map((_, i) => i);
    const by = steps ? Array.from(steps.data) : from.map(() => 1);
    const picks = every(data!.dims);
    along.forEach((a, i) => {
      const k = axisOf(node, a, rank);
      const d = data!.dims[k];
      const step = by[i];
      if (!step) throw new Error(`${nodeLabel(node)}: step 0`);
      // ONNX clamps starts/ends into the axis (to [-1, d-1] when stepping backwards)
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, step > 0 ? 0 : -1), step > 0 ? d : d - 1);
      const [s, e] = [clamp(from[i]), clamp(to[i])];
      picks[k] = [];
      for (let j = s; step > 0 ? j < e : j > e; j += step) picks[k].push(j);
    });
    return select(data!, picks);
  },
  Unsqueeze(im, node, [data, axesArg]) {
    const listed = im.ints(node, axesArg, "axes") ?? [];
    const rank = data!.dims.length + listed.length;
    const axes = new Set(listed.map((a) => axisOf(node, a, rank)));
    const rest = [...data!.dims];
    return { dims: Array.from({ length: rank }, (_, k) => (axes.has(k) ? 1 : rest.shift()!)), data: data!.data };
  },
  Squeeze(im, node, [data, axesArg]) {
    const rank = data!.dims.length;
    const listed = im.ints(node, axesArg, "axes")?.map((a) => axisOf(node, a, rank));
    const drop = (d: number, k: number) => (listed ? listed.includes(k) : d === 1);
    if (data!.dims.some((d, k) => drop(d, k) && d !== 1))
      throw new Error(`${nodeLabel(node)}: cannot squeeze an axis of size other than 1 in [${data!.dims}]`);
    return { dims: data!.dims.filter((d, k) => !drop(d, k)), data: data!.data };
  },
  Concat(im, node, args) {
    const parts = args.filter((a): a is Tensor => !!a);
    if (parts.length === 0) throw new Error(`${nodeLabel(node)}: no operands`);
    const rank = parts[0].dims.length;
    const axis = axisOf(node, im.int(node, "axis", 0), rank);
    if (parts.some((p) => p.dims.length !== rank || p.dims.some((d, k) => k !== axis && d !== parts[0].dims[k]))) {
      throw new Error(
        `${nodeLabel(node)}: operands of shapes ${parts.map((p) => `[${p.dims}]`).join(", ")} do not concatenate along axis ${axis}`,
      );
    }
    const outer = product(parts[0].dims.slice(0, axis));
    const data: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const p of parts) {
        const block = p.data.length / outer;
        data.push(...p.data.subarray(o * block, (o + 1) * block));
      }
    const dims = [...parts[0].dims];
    dims[axis] = parts.reduce((sum, p) => sum + p.dims[axis], 0);
    return { dims, data: Float64Array.from(data) };
  },
};

function dropMonotone(im: Importer, node: Node): string {
  im.requireFloat(node, true);
  // opset < 13 coerces to 2-D at `axis` (default 1); both mean the class axis for [batch, classes]
  const axis = im.int(node, "axis", im.opset < 13 ? 1 : -1);
  if (im.normalizeAxis(node, axis) !== 1) throw new Error(`${nodeLabel(node)}: only the class axis is supported`);
  im.finalOp = node.opType ?? "Softmax";
  return "dropped (monotone; the proven output is the logits or their argmax)";
}

export function importOnnx(bytes: Uint8Array): ImportedModel {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new Error("onnx import: the model has no graph");
  const opset = num(model.opsetImport.find((o) => !o.domain || o.domain === "ai.onnx")?.version) || 1;
  return new Importer(model.graph, opset).run();
}
