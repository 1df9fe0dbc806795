/**
 * Recognizes integer-exact graphs that carry no proofgate metadata: the op patterns that
 * `integerModelToOnnx` writes, made by another tool. Layer by layer along a straight chain:
 *
 *   tokens (int64) → Add(offsets p·V) → Gather(table, axis 0) → ReduceSum(axis 1) [→ Add(bias)]   positional_tables
 *   x → MatMul(W) [→ Add(b)]                                                                    dense
 *   x → Mul(2^-k) → Floor → Clip(0, 2^b − 1)                                                    requantize {shift k, max 2^b − 1}
 *
 * then Identity to the logits output, and optionally an ArgMax (axis 1, first index on ties) output.
 *
 * A graph counts as integer when it uses only these ops and has a Floor or a ReduceSum (float exporters
 * write neither in an MLP): otherwise the answer is null and the float importer takes it. Once it
 * counts, any broken rule (a non-integer weight, a Mul that is not a power of two ≤ 1/2, a Clip that is
 * not [0, 2^b − 1], a branch) is a one-line error naming the node, since quantizing such a graph as a
 * float model would silently change what it computes.
 *
 * A float input's values are taken as integers in [-128, 127] (signed 8-bit) with scale 1, unless the
 * caller gives another range: nothing in the graph says what the producer fed it.
 */
import onnxProto from "onnx-proto";
import { FLOAT32_EXACT_LIMIT, maxIntermediate, type IntegerInput, type IntegerLayer, type IntegerModel } from "../model/integer-model.js";
import { constantNodeTensor, decodeTensor, nodeLabel, type Tensor } from "./onnx-import.js";

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;

export interface IntegerImportOptions {
  /** Integer range of a float input's values. @defaultValue [-128, 127] */
  readonly inputRange?: readonly [number, number];
}

export interface ImportedIntegerGraph {
  readonly model: IntegerModel;
  /** The graph has an ArgMax output over the logits. */
  readonly argmax: boolean;
}

const OPS = new Set(["Add", "Gather", "ReduceSum", "MatMul", "Mul", "Floor", "Clip", "Identity", "ArgMax", "Constant"]);

const fail = (node: Node, message: string): never => {
  throw new Error(`integer onnx: ${nodeLabel(node)}: ${message}`);
};
const out = (node: Node): string => node.output?.[0] ?? "";
const intAttr = (node: Node, name: string): number | undefined => {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : undefined;
};
const isPowerOfTwo = (v: number): boolean => v >= 1 && Number.isInteger(Math.log2(v));

/** The integer model of a graph of proofgate's integer op patterns, or null when it is not one. */
export function importIntegerOnnx(bytes: Uint8Array, options: IntegerImportOptions = {}): IntegerModel | null {
  return importIntegerOnnxGraph(bytes, options)?.model ?? null;
}

/** As `importIntegerOnnx`, also saying whether the graph outputs an ArgMax. */
export function importIntegerOnnxGraph(bytes: Uint8Array, options: IntegerImportOptions = {}): ImportedIntegerGraph | null {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  const nodes = graph?.node ?? [];
  if (!graph || nodes.some((n) => (n.domain && n.domain !== "ai.onnx") || !OPS.has(n.opType ?? ""))) return null;
  if (!nodes.some((n) => n.opType === "Floor" || n.opType === "ReduceSum")) return null;
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 1);

  const constants = new Map<string, onnxProto.onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? "", t);
  const consumers = new Map<string, Node[]>();
  for (const node of nodes) {
    if (node.opType === "Constant") constants.set(out(node), constantNodeTensor(node));
    for (const name of new Set(node.input ?? [])) if (name) consumers.set(name, [...(consumers.get(name) ?? []), node]);
  }
  const tensor = (node: Node, name: string | null | undefined): Tensor => {
    const t = name ? constants.get(name) : undefined;
    return t ? decodeTensor(t, `integer onnx: ${nodeLabel(node)}: constant "${name}"`) : fail(node, `operand "${name ?? ""}" is not a constant`);
  };
  /** A weight or bias: every value an integer that float32 holds exactly. */
  const integers = (node: Node, name: string | null | undefined, size: number): Int32Array => {
    const t = tensor(node, name);
    if (t.data.length !== size) fail(node, `"${name}" has ${t.data.length} values (shape [${t.dims}]); expected ${size}`);
    const bad = t.data.findIndex((v) => !Number.isInteger(v) || Math.abs(v) >= FLOAT32_EXACT_LIMIT);
    if (bad >= 0) fail(node, `"${name}"[${bad}] = ${t.data[bad]} is not an integer below 2^24`);
    return Int32Array.from(t.data);
  };
  const scalar = (node: Node, name: string | null | undefined, what: string): number => {
    const t = tensor(node, name);
    return t.data.length === 1 ? t.data[0] : fail(node, `${what} must be a single value, got shape [${t.dims}]`);
  };

  const inputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ""));
  if (inputs.length !== 1) throw new Error(`integer onnx: expected one graph input, found ${inputs.length}`);
  const tensorType = inputs[0].type?.tensorType;
  const dims = tensorType?.shape?.dim ?? [];
  const size = Number(dims[1]?.dimValue ?? 0);
  if (dims.length !== 2 || !(size > 0)) throw new Error(`integer onnx: input "${inputs[0].name}" must be [batch, n] with a fixed n`);
  let tokens = tensorType?.elemType === onnx.TensorProto.DataType.INT64;
  if (!tokens && tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`integer onnx: input "${inputs[0].name}" must be int64 tokens or float`);
  const [min, max] = options.inputRange ?? [-128, 127];
  let input: IntegerInput = { kind: "int", size, min, max, scale: 1 };

  const used = new Set<Node>();
  /** The one consumer of `node`'s output, which the pattern says must be `op`. */
  const then = (node: Node, op: string): Node => {
    const users = consumers.get(out(node)) ?? [];
    if (users.length !== 1 || users[0].opType !== op) fail(node, `must be followed by ${op} alone`);
    used.add(users[0]);
    return users[0];
  };
  /** An optional Add(bias) after a linear op; returns the layer's output name. */
  const biasAfter = (node: Node, width: number): { bias: Int32Array; end: string } => {
    const users = consumers.get(out(node)) ?? [];
    if (users.length !== 1 || users[0].opType !== "Add") return { bias: new Int32Array(width), end: out(node) };
    const add = users[0];
    used.add(add);
    return { bias: integers(add, add.input?.find((n) => n !== out(node)), width), end: out(add) };
  };

  const layers: IntegerLayer[] = [];
  let cur = inputs[0].name ?? "";
  let width = size;
  let argmax: Node | null = null;
  for (;;) {
    const users = consumers.get(cur) ?? [];
    for (const node of users.filter((n) => n.opType === "ArgMax")) {
      if (argmax) fail(node, "only one ArgMax output is supported");
      const axis = intAttr(node, "axis") ?? 0;
      if (axis !== 1 && axis !== -1) fail(node, `axis ${axis}: only the class axis (1) is supported`);
      if (intAttr(node, "select_last_index")) fail(node, "select_last_index=1 is not supported (ties go to the first index)");
      argmax = node;
      used.add(node);
    }
    const rest = users.filter((n) => n.opType !== "ArgMax");
    if (rest.length === 0) break;
    const node = rest[0];
    if (rest.length > 1) fail(node, `"${cur}" also feeds ${nodeLabel(rest[1])}; only a straight chain is supported`);
    if (argmax && node.opType !== "Identity") fail(argmax, "must read the logits, the last value of the chain");
    if (node.input?.[0] !== cur && node.opType !== "Add" && node.opType !== "Mul") fail(node, `"${cur}" must be its first operand`);
    used.add(node);
    if (tokens) {
      // offsets p·V turn (position, token) into a row of the stacked per-position tables
      if (node.opType !== "Add") fail(node, "token inputs must go through Add(offsets) → Gather(table) → ReduceSum");
      const offsets = tensor(node, node.input?.find((n) => n !== cur));
      const gather = then(node, "Gather");
      if (gather.input?.[1] !== out(node) || (intAttr(gather, "axis") ?? 0) !== 0) fail(gather, "must look up rows (axis 0) of a constant table by the offset tokens");
      const table = tensor(gather, gather.input?.[0]);
      const reduce = then(gather, "ReduceSum");
      const axes = reduce.input?.[1] ? Array.from(tensor(reduce, reduce.input[1]).data) : (reduce.attribute?.find((a) => a.name === "axes")?.ints ?? []).map(Number);
      if (axes.length !== 1 || (axes[0] !== 1 && axes[0] !== -2) || (intAttr(reduce, "keepdims") ?? 1) !== 0) fail(reduce, "must sum over the positions (axes [1], keepdims 0)");
      const context = size;
      const vocabSize = (table.dims[0] ?? 0) / context;
      if (table.dims.length !== 2 || !Number.isInteger(vocabSize) || vocabSize < 1) fail(gather, `table of shape [${table.dims}] is not [context·vocab, width] for context ${context}`);
      if (offsets.data.length !== context || offsets.data.some((v, p) => v !== p * vocabSize)) fail(node, `offsets must be p·${vocabSize} for p < ${context}`);
      width = table.dims[1];
      const { bias, end } = biasAfter(reduce, width);
      layers.push({ kind: "positional_tables", vocabSize, context, width, table: integers(gather, gather.input?.[0], context * vocabSize * width), bias });
      input = { kind: "tokens", vocabSize, context };
      tokens = false;
      cur = end;
    } else if (node.opType === "MatMul") {
      const w = tensor(node, node.input?.[1]);
      if (w.dims.length !== 2 || w.dims[0] !== width) fail(node, `weight of shape [${w.dims}] does not fit ${width} inputs`);
      const outputs = w.dims[1];
      const { bias, end } = biasAfter(node, outputs);
      layers.push({ kind: "dense", inputs: width, outputs, weight: integers(node, node.input?.[1], width * outputs), bias });
      width = outputs;
      cur = end;
    } else if (node.opType === "Mul") {
      // exact in float32 only for a power of two, and a shift of 0 would be no rescale at all
      const factor = scalar(node, node.input?.find((n) => n !== cur), "the scale");
      if (!(factor > 0 && factor <= 0.5 && isPowerOfTwo(1 / factor))) fail(node, `scale ${factor} is not a power of two ≤ 1/2 (2^-k, k ≥ 1)`);
      const clip = then(then(node, "Floor"), "Clip");
      const bound = (index: number, attr: string): number => {
        if (clip.input?.[index]) return scalar(clip, clip.input[index], attr);
        const a = opset < 11 ? clip.attribute?.find((x) => x.name === attr) : undefined;
        return a ? a.f ?? NaN : fail(clip, `needs a ${attr}`);
      };
      const [lo, hi] = [bound(1, "min"), bound(2, "max")];
      if (lo !== 0 || !isPowerOfTwo(hi + 1)) fail(clip, `bounds [${lo}, ${hi}] are not [0, 2^b − 1]`);
      layers.push({ kind: "requantize", width, shift: Math.log2(1 / factor), max: hi });
      cur = out(clip);
    } else if (node.opType === "Identity") {
      cur = out(node);
    } else {
      fail(node, "is not part of a layer (MatMul [→ Add], Mul → Floor → Clip, or Add → Gather → ReduceSum on tokens)");
    }
  }

  const leftover = nodes.find((n) => !used.has(n) && n.opType !== "Constant");
  if (leftover) fail(leftover, "is not on the chain from the input to the logits");
  const outputs = (graph.output ?? []).map((o) => o.name ?? "");
  const expected = new Set([cur, ...(argmax ? [out(argmax)] : [])]);
  if (!outputs.includes(cur) || outputs.some((o) => !expected.has(o))) throw new Error(`integer onnx: the chain ends at "${cur}" but the graph outputs are ${outputs.map((o) => `"${o}"`).join(", ")}`);
  if (layers.length === 0) throw new Error("integer onnx: the graph has no layer");
  const result: IntegerModel = { input, layers, classes: width };
  const bound = maxIntermediate(result);
  if (bound >= FLOAT32_EXACT_LIMIT) throw new Error(`integer onnx: an intermediate can reach ${bound}; float32 is exact only below 2^24`);
  return { model: result, argmax: argmax !== null };
}
