import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SCRIPT = resolve("scripts/gpu-install.sh");
const LIBS = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
const PKG = "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9";

/** scripts/gpu-install.sh on a stand-in of the provider package: no download, a folder of its own as target. */
describe("scripts/gpu-install.sh", {
  skip: platform() !== "linux" || arch() !== "x64" ? "Linux x86_64 only" : false,
}, () => {
  let dir: string;
  let dest: string;
  const tarball = (name: string, libs: readonly string[]): string => {
    const root = join(dir, name);
    mkdirSync(join(root, "package/Plugins/Linux/x64"), { recursive: true });
    writeFileSync(
      join(root, "package/package.json"),
      JSON.stringify({ name: "com.github.asus4.onnxruntime.linux-x64-gpu", version: "0.4.9" }),
    );
    for (const lib of libs) writeFileSync(join(root, "package/Plugins/Linux/x64", lib), `stand-in for ${lib}`);
    const tgz = join(dir, `${name}.tgz`);
    execFileSync("tar", ["-czf", tgz, "-C", root, "package"]);
    return tgz;
  };
  const run = (env: Record<string, string>, ...args: string[]) =>
    spawnSync("bash", [SCRIPT, ...args], {
      encoding: "utf8",
      env: { ...process.env, PROOFGATE_ORT_DIR: dest, ...env },
      timeout: 60_000,
    });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "proofgate-gpu-install-"));
    dest = join(dir, "ort-bin");
    mkdirSync(dest);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("copies just the two provider libraries, stamps the version, and is idempotent", () => {
    const good = tarball("good", LIBS);
    const first = run({ PROOFGATE_GPU_TARBALL: good });
    assert.equal(first.status, 0, first.stderr);
    for (const lib of LIBS) assert.equal(readFileSync(join(dest, lib), "utf8"), `stand-in for ${lib}`);
    assert.equal(readFileSync(join(dest, ".proofgate-cuda-provider"), "utf8").trim(), PKG);
    assert.ok(
      !existsSync(join(dest, "package.json")) && !existsSync(join(dest, "package")),
      "nothing else lands there",
    );
    // installed: a second run fetches nothing (a tarball that does not exist would fail if it tried)
    const again = run({ PROOFGATE_GPU_TARBALL: join(dir, "absent.tgz") });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already in/);
    const forced = run({ PROOFGATE_GPU_TARBALL: good }, "--force");
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(
      forced.stdout,
      /installed the CUDA provider \(com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9\)/,
    );
  });

  it("fails with one clear line: a package without the libraries, a missing target folder", () => {
    const bad = run({ PROOFGATE_GPU_TARBALL: tarball("bad", [LIBS[0]!]) }, "--force");
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /^gpu-install: .* is not the provider package: tar: package\/Plugins\/Linux\/x64\/libonnxruntime_providers_cuda\.so: Not found in archive/,
    );
    const nowhere = run({
      PROOFGATE_ORT_DIR: join(dir, "no-such-folder"),
      PROOFGATE_GPU_TARBALL: tarball("good2", LIBS),
    });
    assert.equal(nowhere.status, 1);
    assert.match(
      nowhere.stderr.trim(),
      /^gpu-install: onnxruntime-node's native folder .*no-such-folder does not exist$/,
    );
  });
});
