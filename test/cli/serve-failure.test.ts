import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, MAIN, REPO_ROOT } from "../workers/prover-cluster.fixture.js";

test("serve on a port already taken exits non-zero, its reason the last line, with nothing left running", async (t) => {
  const taken = createServer();
  taken.listen(0, "127.0.0.1");
  await once(taken, "listening");
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const dataDir = mkdtempSync(join(tmpdir(), "proofgate-serve-failure-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve"], {
    cwd: REPO_ROOT,
    env: childEnv({ PORT: String(port), HOST: "127.0.0.1", PROOFGATE_DATA_DIR: dataDir, PROVERS: "0" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  // the process must end on its own: a start-up failure that left the queue or the chain open would hang here
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 1);
  const lines = stderr.trim().split("\n");
  assert.match(lines.at(-1)!, new RegExp(`^proofgate serve: 127\\.0\\.0\\.1:${port} is already in use: .*set PORT`));
});
