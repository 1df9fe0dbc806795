import { test } from "node:test";
import assert from "node:assert/strict";
import ort from "onnxruntime-node";
import { Random } from "../../src/core/random.js";
import { Dense, Embedding, PositionalTables, Relu, type Layer } from "../../src/training/layers.js";
import { buildTrainingGraph, LOSS_OUTPUT, TARGET_INPUT, type GraphInput } from "../../src/training/training-graph.js";

/**
 * The backward passes are derived by hand, so check them against central finite differences of the
 * loss the same graph computes, on every parameter of small models (float64 checks on float32 math:
 * a loose relative tolerance, but a wrong derivative is off by far more).
 */
async function checkGradients(
  layers: Layer[],
  input: GraphInput,
  feed: ort.Tensor,
  classes: number,
  batch: number,
  rng: Random,
) {
  const graph = buildTrainingGraph(layers, input, classes, batch);
  const session = await ort.InferenceSession.create(graph.bytes);
  const target = new Float32Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += target[b * classes + k] = rng.next();
    for (let k = 0; k < classes; k++) target[b * classes + k] /= sum;
  }
  const run = async () => {
    const feeds: Record<string, ort.Tensor> = {
      [input.name]: feed,
      [TARGET_INPUT]: new ort.Tensor("float32", target, [batch, classes]),
    };
    graph.params.forEach((p, i) => {
      feeds[graph.paramInputs[i]] = new ort.Tensor("float32", Float32Array.from(p.data), p.shape as number[]);
    });
    return session.run(feeds);
  };
  const out = await run();
  let checked = 0;
  for (const [k, p] of graph.params.entries()) {
    const grad = out[graph.gradOutputs[k]].data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const i = rng.int(p.data.length);
      const saved = p.data[i];
      const h = 1e-2;
      p.data[i] = saved + h;
      const up = ((await run())[LOSS_OUTPUT].data as Float32Array)[0];
      p.data[i] = saved - h;
      const down = ((await run())[LOSS_OUTPUT].data as Float32Array)[0];
      p.data[i] = saved;
      const numeric = (up - down) / (2 * h);
      assert.ok(
        Math.abs(numeric - grad[i]) <= 2e-3 + 0.05 * Math.abs(numeric),
        `${p.name}[${i}]: analytic ${grad[i]}, numeric ${numeric}`,
      );
      checked++;
    }
  }
  await session.release();
  return checked;
}

test("teacher-shaped stack (embedding, dense, relu) has correct gradients", async () => {
  const rng = new Random(11);
  const V = 7,
    C = 3,
    D = 4,
    batch = 5;
  const layers = [
    new Embedding("e", V, D, C, rng),
    new Dense("h", C * D, 8, rng),
    new Relu(),
    new Dense("o", 8, V, rng, 1),
  ];
  // repeated tokens make the scatter-add of the embedding gradient accumulate
  const tokens = BigInt64Array.from([0, 1, 1, 2, 2, 2, 6, 5, 4, 3, 3, 0, 1, 0, 1].map(BigInt));
  const n = await checkGradients(
    layers,
    { name: "tokens", type: "int64", shape: [C] },
    new ort.Tensor("int64", tokens, [batch, C]),
    V,
    batch,
    rng,
  );
  assert.equal(n, 6 * 5);
});

test("student-shaped stack (positional tables) has correct gradients", async () => {
  const rng = new Random(12);
  const V = 5,
    C = 4,
    batch = 3;
  const layers = [new PositionalTables("t", V, C, 6, rng), new Relu(), new Dense("o", 6, V, rng, 1)];
  const tokens = BigInt64Array.from([0, 0, 4, 4, 1, 2, 3, 4, 0, 0, 0, 0].map(BigInt));
  const n = await checkGradients(
    layers,
    { name: "tokens", type: "int64", shape: [C] },
    new ort.Tensor("int64", tokens, [batch, C]),
    V,
    batch,
    rng,
  );
  assert.equal(n, 6 * 4);
});
