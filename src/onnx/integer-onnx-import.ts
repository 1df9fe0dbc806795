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
import {
  FLOAT32_EXACT_LIMIT,
  maxIntermediate,
  type IntegerInput,
  type IntegerLayer,
  type IntegerModel,
} from "../model/integer-model.js";
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
export function importIntegerOnnxGraph(
  bytes: Uint8Array,
  options: IntegerImportOptions = {},
): ImportedIntegerGraph | null {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph || !isIntegerGraph(graph.node ?? [])) return null;
  const g = new GraphReader(
    graph,
    Number(model.opsetImport.find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 1),
  );
  const start = chainInput(g, graph, options);
  const chain = followChain(g, start);
  checkCovered(g, graph, chain);
  if (chain.layers.length === 0) throw new Error("integer onnx: the graph has no layer");
  const result: IntegerModel = { input: chain.input, layers: chain.layers, classes: chain.width };
  const bound = maxIntermediate(result);
  if (bound >= FLOAT32_EXACT_LIMIT)
    throw new Error(`integer onnx: an intermediate can reach ${bound}; float32 is exact only below 2^24`);
  return { model: result, argmax: chain.argmax !== null };
}

/** Only the patterns' ops, and a Floor or a ReduceSum, which float exporters do not write in an MLP. */
function isIntegerGraph(nodes: readonly Node[]): boolean {
  if (nodes.some((n) => (n.domain && n.domain !== "ai.onnx") || !OPS.has(n.opType ?? ""))) return false;
  return nodes.some((n) => n.opType === "Floor" || n.opType === "ReduceSum");
}

/** The graph as the patterns read it: its constants by name, each value's consumers, and the nodes matched so far. */
class GraphReader {
  readonly nodes: readonly Node[];
  readonly constants = new Map<string, onnxProto.onnx.ITensorProto>();
  readonly consumers = new Map<string, Node[]>();
  readonly used = new Set<Node>();

  constructor(
    graph: onnxProto.onnx.IGraphProto,
    readonly opset: number,
  ) {
    this.nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) this.constants.set(t.name ?? "", t);
    for (const node of this.nodes) {
      if (node.opType === "Constant") this.constants.set(out(node), constantNodeTensor(node));
      for (const name of new Set(node.input ?? []))
        if (name) this.consumers.set(name, [...(this.consumers.get(name) ?? []), node]);
    }
  }

  usersOf(name: string): Node[] {
    return this.consumers.get(name) ?? [];
  }

  tensor(node: Node, name: string | null | undefined): Tensor {
    const t = name ? this.constants.get(name) : undefined;
    return t
      ? decodeTensor(t, `integer onnx: ${nodeLabel(node)}: constant "${name}"`)
      : fail(node, `operand "${name ?? ""}" is not a constant`);
  }

  /** A weight or bias: every value an integer that float32 holds exactly. */
  integers(node: Node, name: string | null | undefined, size: number): Int32Array {
    const t = this.tensor(node, name);
    if (t.data.length !== size)
      fail(node, `"${name}" has ${t.data.length} values (shape [${t.dims}]); expected ${size}`);
    const bad = t.data.findIndex((v) => !Number.isInteger(v) || Math.abs(v) >= FLOAT32_EXACT_LIMIT);
    if (bad >= 0) fail(node, `"${name}"[${bad}] = ${t.data[bad]} is not an integer below 2^24`);
    return Int32Array.from(t.data);
  }

  scalar(node: Node, name: string | null | undefined, what: string): number {
    const t = this.tensor(node, name);
    return t.data.length === 1 ? t.data[0] : fail(node, `${what} must be a single value, got shape [${t.dims}]`);
  }

  /** The one consumer of `node`'s output, which the pattern says must be `op`. */
  followedBy(node: Node, op: string): Node {
    const users = this.usersOf(out(node));
    if (users.length !== 1 || users[0].opType !== op) fail(node, `must be followed by ${op} alone`);
    this.used.add(users[0]);
    return users[0];
  }

  /** An optional Add(bias) after a linear op; returns the layer's output name. */
  biasAfter(node: Node, width: number): { bias: Int32Array; end: string } {
    const users = this.usersOf(out(node));
    if (users.length !== 1 || users[0].opType !== "Add") return { bias: new Int32Array(width), end: out(node) };
    const add = users[0];
    this.used.add(add);
    return {
      bias: this.integers(
        add,
        add.input?.find((n) => n !== out(node)),
        width,
      ),
      end: out(add),
    };
  }
}

/** Where the chain starts: the one graph input, [batch, n] int64 tokens or float values. */
interface ChainStart {
  readonly name: string;
  readonly size: number;
  readonly tokens: boolean;
  /** A float input's domain, as the caller gives it; a token input's is set by its tables. */
  readonly input: IntegerInput;
}

function chainInput(g: GraphReader, graph: onnxProto.onnx.IGraphProto, options: IntegerImportOptions): ChainStart {
  const inputs = (graph.input ?? []).filter((i) => !g.constants.has(i.name ?? ""));
  if (inputs.length !== 1) throw new Error(`integer onnx: expected one graph input, found ${inputs.length}`);
  const tensorType = inputs[0].type?.tensorType;
  const dims = tensorType?.shape?.dim ?? [];
  const size = Number(dims[1]?.dimValue ?? 0);
  if (dims.length !== 2 || !(size > 0))
    throw new Error(`integer onnx: input "${inputs[0].name}" must be [batch, n] with a fixed n`);
  const tokens = tensorType?.elemType === onnx.TensorProto.DataType.INT64;
  if (!tokens && tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT)
    throw new Error(`integer onnx: input "${inputs[0].name}" must be int64 tokens or float`);
  const [min, max] = options.inputRange ?? [-128, 127];
  return { name: inputs[0].name ?? "", size, tokens, input: { kind: "int", size, min, max, scale: 1 } };
}

/** One layer matched from its first node: the layer, and the value it ends at. */
interface Matched<L extends IntegerLayer = IntegerLayer> {
  readonly layer: L;
  readonly end: string;
}

/** Matches a layer pattern from its first node, which reads `cur` (a value `width` wide). */
type LayerPattern = (g: GraphReader, node: Node, cur: string, width: number) => Matched;

/** tokens → Add(offsets p·V) → Gather(table, axis 0) → ReduceSum(axis 1) [→ Add(bias)]; the context is the input's size. */
function matchPositionalTables(
  g: GraphReader,
  node: Node,
  cur: string,
  context: number,
): Matched<Extract<IntegerLayer, { kind: "positional_tables" }>> {
  // offsets p·V turn (position, token) into a row of the stacked per-position tables
  if (node.opType !== "Add") fail(node, "token inputs must go through Add(offsets) → Gather(table) → ReduceSum");
  const offsets = g.tensor(
    node,
    node.input?.find((n) => n !== cur),
  );
  const gather = g.followedBy(node, "Gather");
  if (gather.input?.[1] !== out(node) || (intAttr(gather, "axis") ?? 0) !== 0)
    fail(gather, "must look up rows (axis 0) of a constant table by the offset tokens");
  const table = g.tensor(gather, gather.input?.[0]);
  const reduce = g.followedBy(gather, "ReduceSum");
  const axes = reduce.input?.[1]
    ? Array.from(g.tensor(reduce, reduce.input[1]).data)
    : (reduce.attribute?.find((a) => a.name === "axes")?.ints ?? []).map(Number);
  if (axes.length !== 1 || (axes[0] !== 1 && axes[0] !== -2) || (intAttr(reduce, "keepdims") ?? 1) !== 0)
    fail(reduce, "must sum over the positions (axes [1], keepdims 0)");
  const vocabSize = (table.dims[0] ?? 0) / context;
  if (table.dims.length !== 2 || !Number.isInteger(vocabSize) || vocabSize < 1)
    fail(gather, `table of shape [${table.dims}] is not [context·vocab, width] for context ${context}`);
  if (offsets.data.length !== context || offsets.data.some((v, p) => v !== p * vocabSize))
    fail(node, `offsets must be p·${vocabSize} for p < ${context}`);
  const width = table.dims[1];
  const { bias, end } = g.biasAfter(reduce, width);
  return {
    layer: {
      kind: "positional_tables",
      vocabSize,
      context,
      width,
      table: g.integers(gather, gather.input?.[0], context * vocabSize * width),
      bias,
    },
    end,
  };
}

/** x → MatMul(W) [→ Add(b)] */
const matchDense: LayerPattern = (g, node, _cur, width) => {
  const w = g.tensor(node, node.input?.[1]);
  if (w.dims.length !== 2 || w.dims[0] !== width)
    fail(node, `weight of shape [${w.dims}] does not fit ${width} inputs`);
  const outputs = w.dims[1];
  const { bias, end } = g.biasAfter(node, outputs);
  return {
    layer: { kind: "dense", inputs: width, outputs, weight: g.integers(node, node.input?.[1], width * outputs), bias },
    end,
  };
};

/** x → Mul(2^-k) → Floor → Clip(0, 2^b − 1) */
const matchRequantize: LayerPattern = (g, node, cur, width) => {
  // exact in float32 only for a power of two, and a shift of 0 would be no rescale at all
  const factor = g.scalar(
    node,
    node.input?.find((n) => n !== cur),
    "the scale",
  );
  if (!(factor > 0 && factor <= 0.5 && isPowerOfTwo(1 / factor)))
    fail(node, `scale ${factor} is not a power of two ≤ 1/2 (2^-k, k ≥ 1)`);
  const clip = g.followedBy(g.followedBy(node, "Floor"), "Clip");
  const bound = (index: number, attr: string): number => {
    if (clip.input?.[index]) return g.scalar(clip, clip.input[index], attr);
    const a = g.opset < 11 ? clip.attribute?.find((x) => x.name === attr) : undefined;
    return a ? (a.f ?? NaN) : fail(clip, `needs a ${attr}`);
  };
  const [lo, hi] = [bound(1, "min"), bound(2, "max")];
  if (lo !== 0 || !isPowerOfTwo(hi + 1)) fail(clip, `bounds [${lo}, ${hi}] are not [0, 2^b − 1]`);
  return { layer: { kind: "requantize", width, shift: Math.log2(1 / factor), max: hi }, end: out(clip) };
};

/** The layer patterns after the first (a token input's is always positional tables), by the op they start with. */
const LAYER_PATTERNS: Readonly<Partial<Record<string, LayerPattern>>> = { MatMul: matchDense, Mul: matchRequantize };

interface Chain {
  readonly input: IntegerInput;
  readonly layers: IntegerLayer[];
  /** The value the chain ends at: the logits. */
  readonly end: string;
  readonly width: number;
  readonly argmax: Node | null;
}

/** The ArgMax nodes among `users`: at most one, over the class axis, first index on ties. */
function takeArgMax(g: GraphReader, users: readonly Node[], found: Node | null): Node | null {
  let argmax = found;
  for (const node of users.filter((n) => n.opType === "ArgMax")) {
    if (argmax) fail(node, "only one ArgMax output is supported");
    const axis = intAttr(node, "axis") ?? 0;
    if (axis !== 1 && axis !== -1) fail(node, `axis ${axis}: only the class axis (1) is supported`);
    if (intAttr(node, "select_last_index"))
      fail(node, "select_last_index=1 is not supported (ties go to the first index)");
    argmax = node;
    g.used.add(node);
  }
  return argmax;
}

/** Layer by layer from the input along a straight chain, until a value nothing but an ArgMax reads. */
function followChain(g: GraphReader, start: ChainStart): Chain {
  const layers: IntegerLayer[] = [];
  let input = start.input;
  let tokens = start.tokens;
  let cur = start.name;
  let width = start.size;
  let argmax: Node | null = null;
  for (;;) {
    const users = g.usersOf(cur);
    argmax = takeArgMax(g, users, argmax);
    const rest = users.filter((n) => n.opType !== "ArgMax");
    if (rest.length === 0) break;
    const node = rest[0];
    if (rest.length > 1) fail(node, `"${cur}" also feeds ${nodeLabel(rest[1])}; only a straight chain is supported`);
    if (argmax && node.opType !== "Identity") fail(argmax, "must read the logits, the last value of the chain");
    if (node.input?.[0] !== cur && node.opType !== "Add" && node.opType !== "Mul")
      fail(node, `"${cur}" must be its first operand`);
    g.used.add(node);
    if (!tokens && node.opType === "Identity") {
      cur = out(node);
      continue;
    }
    const pattern =
      (tokens ? matchPositionalTables : LAYER_PATTERNS[node.opType ?? ""]) ??
      fail(node, "is not part of a layer (MatMul [→ Add], Mul → Floor → Clip, or Add → Gather → ReduceSum on tokens)");
    const { layer, end } = pattern(g, node, cur, width);
    if (layer.kind === "positional_tables") {
      input = { kind: "tokens", vocabSize: layer.vocabSize, context: layer.context };
      tokens = false;
    }
    layers.push(layer);
    width = layer.kind === "dense" ? layer.outputs : layer.width;
    cur = end;
  }
  return { input, layers, end: cur, width, argmax };
}

/** Every node is on the chain, and the graph outputs are its end and its ArgMax. */
function checkCovered(g: GraphReader, graph: onnxProto.onnx.IGraphProto, chain: Chain): void {
  const leftover = g.nodes.find((n) => !g.used.has(n) && n.opType !== "Constant");
  if (leftover) fail(leftover, "is not on the chain from the input to the logits");
  const outputs = (graph.output ?? []).map((o) => o.name ?? "");
  const expected = new Set([chain.end, ...(chain.argmax ? [out(chain.argmax)] : [])]);
  if (!outputs.includes(chain.end) || outputs.some((o) => !expected.has(o)))
    throw new Error(
      `integer onnx: the chain ends at "${chain.end}" but the graph outputs are ${outputs.map((o) => `"${o}"`).join(", ")}`,
    );
}
