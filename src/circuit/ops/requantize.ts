/** requantize: y = min(max(floor(x / 2^shift), 0), max), one Requantize template per element. */
import type { IntegerLayer } from "../../model/integer-model.js";
import { bitsFor, type LayerEmitter } from "./emission.js";

export const emitRequantize: LayerEmitter<Extract<IntegerLayer, { kind: "requantize" }>> = (e, layer, index) => {
  const lo = Math.min(...e.bounds.lo);
  const hi = Math.max(...e.bounds.hi);
  // in + 2^(qBits−1+shift) must land in [0, 2^(qBits+shift))
  const magnitude = Math.max(-lo, hi + 1) / 2 ** layer.shift;
  const qBits = Math.max(2, 1 + Math.ceil(Math.log2(Math.max(magnitude, 1))));
  const outBits = bitsFor(layer.max);
  if (2 ** outBits - 1 !== layer.max) throw new Error(`requantize max ${layer.max} is not 2^k − 1`);
  e.includes.add("requantize");
  e.body.push(
    `    component rq${index}[${layer.width}];`,
    `    for (var j = 0; j < ${layer.width}; j++) {`,
    `        rq${index}[j] = Requantize(${layer.shift}, ${qBits}, ${outBits});`,
    `        rq${index}[j].in <== ${e.x("j")};`,
    "    }",
  );
  e.x = (i) => `rq${index}[${i}].out`;
  e.signal = null;
};
