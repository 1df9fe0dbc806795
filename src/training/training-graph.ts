/**
 * Turns a stack of layers into two ONNX graphs: the training step (parameters in, loss and gradients
 * out, for a fixed batch size) and the float inference model (parameters baked in, logits out).
 */
import { OnnxGraph, type Dim, type ElemType } from "../onnx/onnx-graph.js";
import type { Layer, Param, WiredLayer } from "./layers.js";

export interface GraphInput {
  readonly name: string;
  readonly type: ElemType;
  /** Shape without the batch dimension. */
  readonly shape: readonly number[];
}

export interface TrainingGraph {
  readonly bytes: Uint8Array;
  readonly batchSize: number;
  readonly params: readonly Param[];
  /** Graph input name of each parameter, in `params` order. */
  readonly paramInputs: readonly string[];
  /** Graph output name of each parameter's gradient, in `params` order. */
  readonly gradOutputs: readonly string[];
}

export const TARGET_INPUT = "target";
export const LOSS_OUTPUT = "loss";
export const LOGITS_OUTPUT = "logits";

function wireForward(g: OnnxGraph, layers: readonly Layer[], x: string, value: (p: Param) => string): WiredLayer[] {
  const wired: WiredLayer[] = [];
  for (const layer of layers) {
    const w = layer.wire(g, x, value);
    wired.push(w);
    x = w.y;
  }
  return wired;
}

export function allParams(layers: readonly Layer[]): Param[] {
  return layers.flatMap((l) => l.params);
}

/**
 * Cross-entropy against a target distribution (one-hot labels, or a teacher's soft targets for
 * distillation), averaged over the batch. Its gradient w.r.t. the logits is (softmax − target)/B.
 */
export function buildTrainingGraph(
  layers: readonly Layer[],
  input: GraphInput,
  classes: number,
  batchSize: number,
): TrainingGraph {
  const g = new OnnxGraph("train_step");
  const params = allParams(layers);
  const x = g.input(input.name, input.type, [batchSize, ...input.shape]);
  const target = g.input(TARGET_INPUT, "float32", [batchSize, classes]);
  const paramInputs = params.map((p) => g.input(`param:${p.name}`, "float32", p.shape));
  const byParam = new Map(params.map((p, i) => [p, paramInputs[i]]));
  const wired = wireForward(g, layers, x, (p) => byParam.get(p)!);

  const logits = wired[wired.length - 1].y;
  const logp = g.op("LogSoftmax", [logits], { axis: 1 });
  const total = g.op("ReduceSum", [g.op("Mul", [target, logp])], { keepdims: 0 });
  g.node("Mul", [total, g.constant([-1 / batchSize], "float32", [])], [LOSS_OUTPUT]);
  g.output(LOSS_OUTPUT, "float32", []);

  let grad = g.op("Mul", [g.op("Sub", [g.op("Exp", [logp]), target]), g.constant([1 / batchSize], "float32", [])]);
  const gradOf = new Map<Param, string>();
  for (let i = wired.length - 1; i >= 0; i--) {
    const { gx, grads } = wired[i].backward(grad);
    for (const [p, name] of grads) gradOf.set(p, name);
    if (i > 0) {
      if (!gx) throw new Error(`layer ${i} gives no input gradient`);
      grad = gx;
    }
  }
  const gradOutputs = params.map((p) => {
    const out = `grad:${p.name}`;
    g.node("Identity", [gradOf.get(p)!], [out]);
    g.output(out, "float32", p.shape);
    return out;
  });
  return { bytes: g.toBytes(), batchSize, params, paramInputs, gradOutputs };
}

/** The float model: `input.name` [batch, ...shape] → `logits` [batch, classes]. */
export function buildInferenceGraph(
  name: string,
  layers: readonly Layer[],
  input: GraphInput,
  classes: number,
  metadata: Record<string, string> = {},
): Uint8Array {
  const g = new OnnxGraph(name);
  const batch: Dim = "batch";
  const x = g.input(input.name, input.type, [batch, ...input.shape]);
  const values = new Map<Param, string>();
  const wired = wireForward(g, layers, x, (p) => {
    if (!values.has(p)) values.set(p, g.initializer(p.name, p.data, p.shape));
    return values.get(p)!;
  });
  g.node("Identity", [wired[wired.length - 1].y], [LOGITS_OUTPUT]);
  g.output(LOGITS_OUTPUT, "float32", [batch, classes]);
  return g.toBytes(metadata);
}
