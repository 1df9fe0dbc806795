/** The entry of a SnarkThread (snark-work.ts): answers its calls with `snarkInThisThread`, here. */
import { parentPort } from "node:worker_threads";
import * as snarkjs from "snarkjs";
import { releaseSnarkWorkers } from "../snark/snark-workers.js";
import { loadCompiledModel, type CompiledModel } from "./compiled-model.js";
import { snarkInThisThread, type SnarkCall, type SnarkReply } from "./snark-work.js";

const port = parentPort!;
// the curve every proof and verification here takes (sharedBn128 finds it): single-threaded, see snark-work.ts
const curve = snarkjs.curves.getCurveFromName("bn128", { singleThread: true }).then((built) => {
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = built;
});
const loaded = new Map<string, Promise<CompiledModel>>();

function compiled(dir: string): Promise<CompiledModel> {
  let model = loaded.get(dir);
  if (!model) {
    model = loadCompiledModel(dir);
    loaded.set(dir, model);
    model.catch(() => loaded.delete(dir)); // retried on the next call rather than cached
  }
  return model;
}

async function answer(call: SnarkCall): Promise<unknown> {
  await curve;
  switch (call.op) {
    case "prove":
      return snarkInThisThread.prove(await compiled(call.dir), call.sample, call.nonce);
    case "verify":
      return snarkInThisThread.verify(await compiled(call.dir), call.file);
    case "verifyTrace":
      return snarkInThisThread.verifyTrace(await compiled(call.dir), call.files);
    case "ready":
      return undefined;
    case "close":
      return releaseSnarkWorkers();
  }
}

// listening from the start: web-worker's listener on this port would take messages nobody else heard
port.on("message", (call: SnarkCall) => {
  answer(call).then(
    (value) => port.postMessage({ id: call.id, value } satisfies SnarkReply),
    (err: unknown) =>
      port.postMessage({ id: call.id, error: err instanceof Error ? err.message : String(err) } satisfies SnarkReply),
  );
});
