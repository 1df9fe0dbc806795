/**
 * positional_tables: h_j = bias_j + Σ_p table[p·V + token_p][j], linear in the tokens' one-hot
 * selector bits (made by the token input, ./inputs.ts), so the lookup costs no constraint.
 */
import type { IntegerLayer } from "../../model/integer-model.js";
import { pinLinear, term, type LayerEmitter } from "./emission.js";

export const emitPositionalTables: LayerEmitter<Extract<IntegerLayer, { kind: "positional_tables" }>> = (
  e,
  layer,
  index,
) => {
  pinLinear(e, index, layer.width, layer.bias, (j) => {
    const terms: string[] = [];
    for (let p = 0; p < layer.context; p++) {
      for (let t = 0; t < layer.vocabSize; t++) {
        const c = layer.table[(p * layer.vocabSize + t) * layer.width + j];
        if (c !== 0) terms.push(term(c, `select[${p}].bits[${t}]`));
      }
    }
    return terms;
  });
};
