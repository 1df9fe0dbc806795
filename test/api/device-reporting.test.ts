import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { startGateway, type Gateway } from "../../src/api/start-gateway.js";
import { cudaProviderLibraries, cudaUnavailableReason, ortNativeDir } from "../../src/model/execution-device.js";
import { postJson, startTestGateway, testConfig, TEST_MODELS_DIR, type TestGateway } from "./gateway-fixture.js";

const PROVIDER_INSTALLED = (cudaProviderLibraries() ?? []).some((lib) => existsSync(join(ortNativeDir(), lib)));
/** Where CUDA really loads (a GPU machine after `make gpu`), the CUDA cases run; elsewhere they are skipped. */
const NO_CUDA = PROVIDER_INSTALLED
  ? await cudaUnavailableReason(join(TEST_MODELS_DIR, "pg-student", "model.onnx"))
  : "the CUDA provider is not installed";

async function metricLines(url: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe("device reporting: PROOFGATE_DEVICE=cpu", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ device: "cpu" });
  });
  after(() => gw.close());

  it("/health names the device and what was asked for", async () => {
    const body = (await (await fetch(`${gw.url}/health`)).json()) as {
      device: string;
      device_requested: string;
      models: { device: string }[];
    };
    assert.equal(body.device, "cpu");
    assert.equal(body.device_requested, "cpu");
    assert.ok(body.models.every((m) => m.device === "cpu"));
  });

  it("/metrics has the device as an info gauge, no fallback, and the batch size in use", async () => {
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_info"), [
      'proofgate_device_info{device="cpu",requested="cpu"} 1',
    ]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_cuda_fallback"), ["proofgate_device_cuda_fallback 0"]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_max_batch_size"), ["proofgate_max_batch_size 64"]);
  });
});

describe("device reporting: PROOFGATE_DEVICE=auto without CUDA", {
  skip: PROVIDER_INSTALLED ? "the CUDA provider is installed here" : false,
}, () => {
  let gw: Gateway;
  const logs: { level: number; msg: string; device?: string }[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    });
    gw = await startGateway({
      config: testConfig({ device: "auto", maxBatchSize: 16 }),
      logger: pino({ level: "info" }, sink),
    });
    await gw.loaded;
  });
  after(() => gw.close());

  it("logs exactly one warning saying why CUDA is not used, and the device in the load line", () => {
    const warnings = logs.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(
      warnings[0]!.msg,
      /PROOFGATE_DEVICE=auto: serving on CPU, since CUDA cannot be used: CUDA provider not installed \(run make gpu\)/,
    );
    assert.equal(logs.find((l) => l.msg === "models loaded")?.device, "cpu");
  });

  it("/health says cpu, asked for auto", async () => {
    const body = (await (await fetch(`${gw.url}/health`)).json()) as { device: string; device_requested: string };
    assert.deepEqual([body.device, body.device_requested], ["cpu", "auto"]);
  });

  it("/metrics says cpu, the fallback, and the configured batch size", async () => {
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_info"), [
      'proofgate_device_info{device="cpu",requested="auto"} 1',
    ]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_cuda_fallback"), ["proofgate_device_cuda_fallback 1"]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_max_batch_size"), ["proofgate_max_batch_size 16"]);
  });
});

describe("device reporting: PROOFGATE_DEVICE=auto with CUDA", { skip: NO_CUDA ?? false }, () => {
  let gw: TestGateway;
  let cpu: TestGateway;
  before(async () => {
    gw = await startTestGateway({ device: "auto" });
    cpu = await startTestGateway({ device: "cpu" });
  });
  after(async () => {
    await gw.close();
    await cpu.close();
  });

  it("/health and /metrics say cuda, with CUDA's batch size", async () => {
    const body = (await (await fetch(`${gw.url}/health`)).json()) as { device: string; device_requested: string };
    assert.deepEqual([body.device, body.device_requested], ["cuda", "auto"]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_info"), [
      'proofgate_device_info{device="cuda",requested="auto"} 1',
    ]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_device_cuda_fallback"), ["proofgate_device_cuda_fallback 0"]);
    assert.deepEqual(await metricLines(gw.url, "proofgate_max_batch_size"), ["proofgate_max_batch_size 256"]);
  });

  it("the provable student answers the same text on CUDA as on CPU", async () => {
    const ask = async (url: string) => {
      const res = await postJson(`${url}/v1/completions`, {
        model: "pg-student",
        prompt: "Call me Ishmael.",
        max_tokens: 48,
        temperature: 0,
      });
      return ((await res.json()) as { choices: { text: string }[] }).choices[0]!.text;
    };
    assert.equal(await ask(gw.url), await ask(cpu.url));
  });
});
