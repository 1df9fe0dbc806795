import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildModels, MODEL_IDS, PRESETS } from "../../src/training/build-models.js";

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const id of await readdir(dir)) {
    for (const f of await readdir(join(dir, id))) out.set(`${id}/${f}`, await readFile(join(dir, id, f)));
  }
  return out;
}

test("the same seed rebuilds byte-identical artifacts; another seed does not", async () => {
  const root = await mkdtemp(join(tmpdir(), "pg-build-"));
  try {
    await buildModels({ outDir: join(root, "a"), seed: 5, preset: PRESETS.smoke, progress: false });
    await buildModels({ outDir: join(root, "b"), seed: 5, preset: PRESETS.smoke, progress: false });
    await buildModels({ outDir: join(root, "c"), seed: 6, preset: PRESETS.smoke, progress: false });
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((d) => filesOf(join(root, d))));
    for (const id of Object.values(MODEL_IDS)) {
      for (const f of ["model.onnx", "card.json", "README.md"]) assert.ok(a.has(`${id}/${f}`), `${id}/${f} written`);
    }
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [name, bytes] of a)
      assert.ok(bytes.equals(b.get(name)!), `${name} differs between two runs with seed 5`);
    assert.ok(
      !a.get(`${MODEL_IDS.teacher}/model.onnx`)!.equals(c.get(`${MODEL_IDS.teacher}/model.onnx`)!),
      "seed 6 gives another teacher",
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
