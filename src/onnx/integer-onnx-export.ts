/**
 * IntegerModel → its integer-exact ONNX graph, the file that is served and proven. The reader,
 * `integerModelFromOnnx`, stays in model/integer-model.ts because serving needs it; writing is for
 * training and the compiler only, so the serving side never loads the graph builder.
 */
import {
  ARGMAX_OUTPUT,
  FLOAT32_EXACT_LIMIT,
  INPUT_NAME,
  LOGITS_OUTPUT,
  maxIntermediate,
  METADATA_KEY,
  type IntegerModel,
  type LayerShape,
} from "../model/integer-model.js";
import { OnnxGraph } from "./onnx-graph.js";

/** The integer-exact ONNX graph: input → logits (float32 holding integers) and argmax (int64). */
export function integerModelToOnnx(
  model: IntegerModel,
  name: string,
  metadata: Record<string, string> = {},
): Uint8Array {
  const bound = maxIntermediate(model);
  if (bound >= FLOAT32_EXACT_LIMIT)
    throw new RangeError(`an intermediate can reach ${bound}; float32 is exact only below 2^24`);
  const g = new OnnxGraph(name);
  const inputName = INPUT_NAME[model.input.kind];
  let x =
    model.input.kind === "tokens"
      ? g.input(inputName, "int64", ["batch", model.input.context])
      : g.input(inputName, "float32", ["batch", model.input.size]);
  const shapes: LayerShape[] = [];
  model.layers.forEach((layer, i) => {
    if (layer.kind === "positional_tables") {
      const table = g.initializer(`l${i}.table`, Float32Array.from(layer.table), [
        layer.context * layer.vocabSize,
        layer.width,
      ]);
      const offsets = g.constant(
        Array.from({ length: layer.context }, (_, p) => p * layer.vocabSize),
        "int64",
        [1, layer.context],
      );
      const rows = g.op("Gather", [table, g.op("Add", [x, offsets])], { axis: 0 });
      const summed = g.op("ReduceSum", [rows, g.constant([1], "int64")], { keepdims: 0 });
      x = g.op("Add", [summed, g.initializer(`l${i}.bias`, Float32Array.from(layer.bias), [layer.width])]);
      shapes.push({ kind: layer.kind, vocabSize: layer.vocabSize, context: layer.context, width: layer.width });
    } else if (layer.kind === "dense") {
      const w = g.initializer(`l${i}.weight`, Float32Array.from(layer.weight), [layer.inputs, layer.outputs]);
      x = g.op("Add", [
        g.op("MatMul", [x, w]),
        g.initializer(`l${i}.bias`, Float32Array.from(layer.bias), [layer.outputs]),
      ]);
      shapes.push({ kind: layer.kind, inputs: layer.inputs, outputs: layer.outputs });
    } else {
      // multiplying by 2^-shift is exact in float32, and Floor of an exact value is exact
      const scaled = g.op("Floor", [g.op("Mul", [x, g.constant([2 ** -layer.shift], "float32", [])])]);
      x = g.op("Clip", [scaled, g.constant([0], "float32", []), g.constant([layer.max], "float32", [])]);
      shapes.push({ kind: layer.kind, width: layer.width, shift: layer.shift, max: layer.max });
    }
  });
  g.node("Identity", [x], [LOGITS_OUTPUT]);
  g.output(LOGITS_OUTPUT, "float32", ["batch", model.classes]);
  g.node("ArgMax", [x], [ARGMAX_OUTPUT], { axis: 1, keepdims: 0, select_last_index: 0 });
  g.output(ARGMAX_OUTPUT, "int64", ["batch"]);
  const structure = { input: model.input, classes: model.classes, layers: shapes, max_intermediate: bound };
  return g.toBytes({ ...metadata, [METADATA_KEY]: JSON.stringify(structure) });
}
