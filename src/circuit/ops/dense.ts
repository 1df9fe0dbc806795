/** dense: y_j = bias_j + Σ_i x_i · weight[i][j], constant weights folded into one linear constraint per output. */
import type { IntegerLayer } from "../../model/integer-model.js";
import { pinLinear, term, type LayerEmitter } from "./emission.js";

export const emitDense: LayerEmitter<Extract<IntegerLayer, { kind: "dense" }>> = (e, layer, index) => {
  const x = e.x;
  pinLinear(e, index, layer.outputs, layer.bias, (j) => {
    const terms: string[] = [];
    for (let i = 0; i < layer.inputs; i++) {
      const c = layer.weight[i * layer.outputs + j];
      if (c !== 0) terms.push(term(c, x(i)));
    }
    return terms;
  });
};
