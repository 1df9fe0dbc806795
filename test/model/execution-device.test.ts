import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../../src/config/config.js";
import type { EngineObserver } from "../../src/model/engine-observer.js";
import {
  cudaProviderLibraries,
  cudaUnavailableReason,
  ortNativeDir,
  resolveDevice,
  selectDevice,
  type DeviceSelection,
} from "../../src/model/execution-device.js";
import { DEFAULT_MAX_BATCH, ModelRegistry } from "../../src/model/model-registry.js";

const MODELS_DIR = resolve(process.env.PROOFGATE_TEST_MODELS_DIR ?? "artifacts/models");
const PROBE_MODEL = join(MODELS_DIR, "pg-student", "model.onnx");
/** On a machine where `make gpu` ran, `auto` may rightly pick CUDA: the CPU-only expectations are skipped there. */
const PROVIDER_INSTALLED = (cudaProviderLibraries() ?? []).some((lib) => existsSync(join(ortNativeDir(), lib)));
const cpuOnly = { skip: PROVIDER_INSTALLED ? "the CUDA provider is installed here" : false };
/** Where CUDA really loads (a GPU machine after `make gpu`), the CUDA cases run; elsewhere they are skipped. */
const NO_CUDA = PROVIDER_INSTALLED ? await cudaUnavailableReason(PROBE_MODEL) : "the CUDA provider is not installed";

describe("device selection", () => {
  let fakeProvider: string;
  before(() => {
    // provider files that exist but are no libraries: `auto` and `cuda` get past the install check and probe
    fakeProvider = mkdtempSync(join(tmpdir(), "proofgate-fake-cuda-"));
    for (const lib of cudaProviderLibraries() ?? []) writeFileSync(join(fakeProvider, lib), "not a library");
  });
  after(() => rmSync(fakeProvider, { recursive: true, force: true }));

  it("cpu is cpu, without looking at CUDA", async () => {
    const warnings: string[] = [];
    // a probe here would fail on the missing model file, so reaching cpu quietly shows there was none
    const options = {
      choice: "cpu" as const,
      probeModelPath: join(fakeProvider, "no-such-model.onnx"),
      providerDir: fakeProvider,
      warn: (m: string) => void warnings.push(m),
    };
    assert.equal(await resolveDevice(options), "cpu");
    assert.deepEqual(await selectDevice(options), { device: "cpu", requested: "cpu", fallbackReason: null });
    assert.deepEqual(warnings, []);
  });

  it(
    "auto falls back to cpu with exactly one warning: the provider is not installed (run make gpu)",
    cpuOnly,
    async () => {
      const warnings: string[] = [];
      const selection = await selectDevice({
        choice: "auto",
        probeModelPath: PROBE_MODEL,
        warn: (m) => void warnings.push(m),
      });
      assert.equal(selection.device, "cpu");
      assert.equal(selection.requested, "auto");
      assert.match(
        selection.fallbackReason!,
        /^CUDA provider not installed \(run make gpu\): .*libonnxruntime_providers_cuda\.so/,
      );
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        /serving on CPU, since CUDA cannot be used: CUDA provider not installed \(run make gpu\)/,
      );
      assert.ok(warnings[0]!.includes(ortNativeDir()), "the warning names the folder the provider belongs in");
    },
  );

  it("auto with provider files that do not load: cpu, one warning carrying the probe's reason", cpuOnly, async () => {
    const warnings: string[] = [];
    const selection = await selectDevice({
      choice: "auto",
      probeModelPath: PROBE_MODEL,
      providerDir: fakeProvider,
      warn: (m) => void warnings.push(m),
    });
    assert.equal(selection.device, "cpu");
    assert.match(selection.fallbackReason!, /^the CUDA provider does not load: /);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.endsWith(selection.fallbackReason!));
  });

  it("cuda fails clearly when the provider is missing or does not load", cpuOnly, async () => {
    await assert.rejects(
      resolveDevice({ choice: "cuda", probeModelPath: PROBE_MODEL }),
      /^Error: PROOFGATE_DEVICE=cuda but CUDA cannot be used: CUDA provider not installed \(run make gpu\)/,
    );
    await assert.rejects(
      resolveDevice({ choice: "cuda", probeModelPath: PROBE_MODEL, providerDir: fakeProvider }),
      /PROOFGATE_DEVICE=cuda but CUDA cannot be used: the CUDA provider does not load: /,
    );
  });

  it("the probe leaves onnxruntime's native error line off stderr in a fresh process", cpuOnly, () => {
    // what `serve` does: the probe is the process's first session, so only the warning is printed
    const script = `
      const { selectDevice } = await import("./src/model/execution-device.js");
      for (const providerDir of [undefined, ${JSON.stringify(fakeProvider)}]) {
        const s = await selectDevice({ choice: "auto", probeModelPath: ${JSON.stringify(PROBE_MODEL)}, providerDir, warn: (m) => console.log("WARN " + m) });
        console.log("DEVICE " + s.device);
      }`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stderr, "", "nothing but the warnings, which go to stdout here");
    const lines = child.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(" ")[0]),
      ["WARN", "DEVICE", "WARN", "DEVICE"],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith("DEVICE")),
      ["DEVICE cpu", "DEVICE cpu"],
    );
  });

  it("auto and cuda pick CUDA where its provider loads, without a warning", { skip: NO_CUDA ?? false }, async () => {
    const warnings: string[] = [];
    assert.deepEqual(
      await selectDevice({ choice: "auto", probeModelPath: PROBE_MODEL, warn: (m) => void warnings.push(m) }),
      { device: "cuda", requested: "auto", fallbackReason: null },
    );
    assert.equal(await resolveDevice({ choice: "cuda", probeModelPath: PROBE_MODEL }), "cuda");
    assert.deepEqual(warnings, []);
  });

  it("provider library names by platform", () => {
    assert.deepEqual(cudaProviderLibraries("linux"), [
      "libonnxruntime_providers_shared.so",
      "libonnxruntime_providers_cuda.so",
    ]);
    assert.equal(cudaProviderLibraries("darwin"), null);
  });
});

describe("batch size by device", () => {
  it("PROOFGATE_MAX_BATCH: unset = by device, else a positive integer", () => {
    assert.equal(loadConfig({}).maxBatchSize, null);
    assert.equal(loadConfig({ PROOFGATE_MAX_BATCH: "" }).maxBatchSize, null);
    assert.equal(loadConfig({ PROOFGATE_MAX_BATCH: "128" }).maxBatchSize, 128);
    assert.throws(
      () => loadConfig({ PROOFGATE_MAX_BATCH: "0" }),
      /PROOFGATE_MAX_BATCH must be an integer >= 1, got "0"/,
    );
    assert.throws(() => loadConfig({ PROOFGATE_MAX_BATCH: "lots" }), /PROOFGATE_MAX_BATCH must be an integer >= 1/);
    assert.throws(
      () => loadConfig({ PROOFGATE_DEVICE: "gpu" }),
      /PROOFGATE_DEVICE must be auto, cpu or cuda, got "gpu"/,
    );
    assert.deepEqual(DEFAULT_MAX_BATCH, { cpu: 64, cuda: 256 });
  });

  const load = async (device: "auto" | "cpu", maxBatchSize: number | null) => {
    const seen: [DeviceSelection, number][] = [];
    const warnings: string[] = [];
    const observer: EngineObserver = {
      deviceSelected: (selection, size) => void seen.push([selection, size]),
      batchRan: () => {},
      activeChanged: () => {},
      waitingChanged: () => {},
      tokensGenerated: () => {},
    };
    const registry = new ModelRegistry({
      roots: [],
      dirs: [join(MODELS_DIR, "pg-student")],
      device,
      maxBatchSize,
      maxWaiting: 8,
      observer,
      warn: (m) => void warnings.push(m),
    });
    await registry.load();
    return { registry, seen, warnings };
  };

  it("the registry applies the device's default, tells its observer once, and keeps an explicit size", async () => {
    const { registry, seen, warnings } = await load("cpu", null);
    try {
      assert.equal(registry.device, "cpu");
      assert.equal(registry.maxBatchSize, DEFAULT_MAX_BATCH.cpu);
      assert.deepEqual(registry.deviceSelection, { device: "cpu", requested: "cpu", fallbackReason: null });
      assert.deepEqual(seen, [[{ device: "cpu", requested: "cpu", fallbackReason: null }, 64]]);
      assert.deepEqual(warnings, []);
      const student = registry.get("pg-student");
      assert.equal(student.kind === "language" && student.batcher.activeCount, 0);
    } finally {
      await registry.close();
    }
    const explicit = await load("cpu", 3);
    await explicit.registry.close();
    assert.equal(explicit.registry.maxBatchSize, 3);
    assert.equal(explicit.seen[0]![1], 3);
  });

  it("auto without CUDA: the registry serves on cpu, warns once, and reports the fallback", cpuOnly, async () => {
    const { registry, seen, warnings } = await load("auto", null);
    await registry.close();
    assert.equal(registry.device, "cpu");
    assert.equal(registry.maxBatchSize, 64);
    assert.equal(warnings.length, 1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0].requested, "auto");
    assert.match(seen[0]![0].fallbackReason!, /run make gpu/);
  });
});
