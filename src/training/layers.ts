/**
 * The layers our models are made of, each able to wire its forward pass and its hand-derived backward
 * pass into an ONNX graph. Training runs those graphs on onnxruntime (its MLAS GEMMs are far faster
 * than JavaScript loops); the same forward wiring exports the float model.
 */
import type { OnnxGraph } from "../onnx/onnx-graph.js";
import type { Random } from "../core/random.js";

export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Gives the graph value that holds a parameter: a graph input when training, an initializer when exporting. */
export type ParamValue = (param: Param) => string;

export interface WiredLayer {
  readonly y: string;
  /** Wires the backward pass: gradient of the loss w.r.t. y in, w.r.t. x and each param out. */
  backward(gy: string): { gx?: string; grads: ReadonlyMap<Param, string> };
}

export interface Layer {
  readonly params: readonly Param[];
  wire(g: OnnxGraph, x: string, value: ParamValue): WiredLayer;
  describe(): Record<string, unknown>;
}

function param(name: string, shape: number[], init: (n: number) => Float32Array): Param {
  return { name, shape, data: init(shape.reduce((a, b) => a * b, 1)) };
}

/** Rows of `table` selected by int64 `indices`, gradient scattered back with ScatterND(add). */
function wireGatherGradient(g: OnnxGraph, rows: string, indices: string, tableRows: number, width: number): string {
  const zeros = g.op("ConstantOfShape", [g.constant([tableRows, width], "int64")], {});
  const flatRows = g.op("Reshape", [rows, g.constant([-1, width], "int64")]);
  const flatIdx = g.op("Reshape", [indices, g.constant([-1, 1], "int64")]);
  return g.op("ScatterND", [zeros, flatIdx, flatRows], { reduction: "add" });
}

/** Token embedding shared across positions, the context's vectors concatenated: [B, C] → [B, C·D]. */
export class Embedding implements Layer {
  readonly params: readonly Param[];
  private readonly table: Param;

  constructor(
    readonly name: string,
    readonly vocabSize: number,
    readonly dim: number,
    readonly context: number,
    rng: Random,
  ) {
    this.table = param(`${name}.weight`, [vocabSize, dim], (n) => rng.normalArray(n, 0.5));
    this.params = [this.table];
  }

  wire(g: OnnxGraph, tokens: string, value: ParamValue): WiredLayer {
    const gathered = g.op("Gather", [value(this.table), tokens], { axis: 0 });
    const y = g.op("Reshape", [gathered, g.constant([-1, this.context * this.dim], "int64")]);
    return {
      y,
      backward: (gy) => ({
        grads: new Map([[this.table, wireGatherGradient(g, gy, tokens, this.vocabSize, this.dim)]]),
      }),
    };
  }

  describe() {
    return { type: "embedding", vocab_size: this.vocabSize, dim: this.dim, context: this.context };
  }
}

/**
 * One table per context position, the selected rows summed: h = b + Σ_p T[p·V + token_p]. It equals a
 * dense layer over the one-hot context, and it is what makes a provable first layer nearly free: in
 * the circuit, a constant table row picked by a one-hot selector is a linear combination.
 */
export class PositionalTables implements Layer {
  readonly params: readonly Param[];
  private readonly table: Param;
  private readonly bias: Param;

  constructor(
    readonly name: string,
    readonly vocabSize: number,
    readonly context: number,
    readonly width: number,
    rng: Random,
  ) {
    const std = Math.sqrt(2 / context);
    this.table = param(`${name}.tables`, [context * vocabSize, width], (n) => rng.normalArray(n, std));
    this.bias = param(`${name}.bias`, [width], (n) => new Float32Array(n));
    this.params = [this.table, this.bias];
  }

  /** The row index of each context position: p·V + token. */
  static wireRowIndex(g: OnnxGraph, tokens: string, vocabSize: number, context: number): string {
    const offsets = g.constant(
      Array.from({ length: context }, (_, p) => p * vocabSize),
      "int64",
      [1, context],
    );
    return g.op("Add", [tokens, offsets]);
  }

  wire(g: OnnxGraph, tokens: string, value: ParamValue): WiredLayer {
    const idx = PositionalTables.wireRowIndex(g, tokens, this.vocabSize, this.context);
    const rows = g.op("Gather", [value(this.table), idx], { axis: 0 });
    const summed = g.op("ReduceSum", [rows, g.constant([1], "int64")], { keepdims: 0 });
    const y = g.op("Add", [summed, value(this.bias)]);
    return {
      y,
      backward: (gy) => {
        const perPosition = g.op("Expand", [
          g.op("Unsqueeze", [gy, g.constant([1], "int64")]),
          g.constant([1, this.context, 1], "int64"),
        ]);
        return {
          grads: new Map([
            [this.table, wireGatherGradient(g, perPosition, idx, this.context * this.vocabSize, this.width)],
            [this.bias, g.op("ReduceSum", [gy, g.constant([0], "int64")], { keepdims: 0 })],
          ]),
        };
      },
    };
  }

  describe() {
    return { type: "positional_tables", vocab_size: this.vocabSize, context: this.context, width: this.width };
  }
}

/** y = x·W + b with W stored [in, out] (the layout MatMul takes, no transpose at inference). */
export class Dense implements Layer {
  readonly params: readonly Param[];
  readonly weight: Param;
  readonly bias: Param;

  constructor(
    readonly name: string,
    readonly inputs: number,
    readonly outputs: number,
    rng: Random,
    gain = 2,
  ) {
    const std = Math.sqrt(gain / inputs);
    this.weight = param(`${name}.weight`, [inputs, outputs], (n) => rng.normalArray(n, std));
    this.bias = param(`${name}.bias`, [outputs], (n) => new Float32Array(n));
    this.params = [this.weight, this.bias];
  }

  wire(g: OnnxGraph, x: string, value: ParamValue): WiredLayer {
    const w = value(this.weight);
    const y = g.op("Add", [g.op("MatMul", [x, w]), value(this.bias)]);
    return {
      y,
      backward: (gy) => ({
        gx: g.op("MatMul", [gy, g.op("Transpose", [w], { perm: [1, 0] })]),
        grads: new Map([
          [this.weight, g.op("MatMul", [g.op("Transpose", [x], { perm: [1, 0] }), gy])],
          [this.bias, g.op("ReduceSum", [gy, g.constant([0], "int64")], { keepdims: 0 })],
        ]),
      }),
    };
  }

  describe() {
    return { type: "dense", inputs: this.inputs, outputs: this.outputs };
  }
}

export class Relu implements Layer {
  readonly params: readonly Param[] = [];

  wire(g: OnnxGraph, x: string): WiredLayer {
    const y = g.op("Relu", [x]);
    return {
      y,
      backward: (gy) => {
        const positive = g.op("Cast", [g.op("Greater", [x, g.constant([0], "float32", [])])], { to: 1 });
        return { gx: g.op("Mul", [gy, positive]), grads: new Map() };
      },
    };
  }

  describe() {
    return { type: "relu" };
  }
}
