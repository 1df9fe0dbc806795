/**
 * The op table: one emitter per IntegerLayer kind. Adding an op is a file beside this one and its
 * entry here; the table's type makes a kind without an emitter a compile error.
 */
import type { IntegerLayer } from "../../model/integer-model.js";
import { emitDense } from "./dense.js";
import type { Emission, LayerEmitter } from "./emission.js";
import { emitPositionalTables } from "./positional-tables.js";
import { emitRequantize } from "./requantize.js";

const LAYER_EMITTERS: { readonly [K in IntegerLayer["kind"]]: LayerEmitter<Extract<IntegerLayer, { kind: K }>> } = {
  positional_tables: emitPositionalTables,
  dense: emitDense,
  requantize: emitRequantize,
};

export function emitLayer(e: Emission, layer: IntegerLayer, index: number): void {
  // the table's type pairs each kind with its emitter; TypeScript cannot follow that through the index
  (LAYER_EMITTERS[layer.kind] as LayerEmitter<IntegerLayer>)(e, layer, index);
}
