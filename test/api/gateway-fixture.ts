/**
 * Starts the real gateway on a free port for API tests, serving the models of
 * $PROOFGATE_TEST_MODELS_DIR (default artifacts/models), with logs off, and an OpenAI client for it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import OpenAI from "openai";
import { pino } from "pino";
import { startGateway, type Gateway } from "../../src/api/start-gateway.js";
import type { ProofServices } from "../../src/api/gateway-services.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { openProofServices } from "../../src/compose.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import { BullmqJobQueue } from "../../src/jobs/job-queue-bullmq.js";

export const TEST_MODELS_DIR = resolve(process.env.PROOFGATE_TEST_MODELS_DIR ?? "artifacts/models");

export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    ...loadConfig({}),
    port: 0,
    modelRoots: [TEST_MODELS_DIR],
    logLevel: "silent",
    device: "cpu",
    ...overrides,
  });
}

export interface TestGateway extends Gateway {
  readonly client: OpenAI;
}

export async function startTestGateway(overrides: Partial<Config> = {}, apiKey = "unused"): Promise<TestGateway> {
  const gateway = await startGateway({ config: testConfig(overrides), logger: pino({ level: "silent" }) });
  await gateway.loaded;
  return {
    ...gateway,
    close: gateway.close,
    client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 }),
  };
}

export interface ProvingTestGateway extends TestGateway {
  readonly proofs: ProofServices;
}

/**
 * The gateway with its proof services as `serve` composes them: SQLite in a temporary folder, BullMQ on
 * the local Redis under a key prefix of its own (the in-process queue when none answers), `provers`
 * in-process workers. Closing it closes everything and removes the folder and the queue's keys.
 */
export async function startProvingTestGateway(overrides: Partial<Config> = {}): Promise<ProvingTestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "proofgate-gw-"));
  const config = testConfig({ dataDir, queuePrefix: `proofgate-test-${randomBytes(4).toString("hex")}`, ...overrides });
  const logger = pino({ level: "silent" });
  const proofs = await openProofServices({ config, logger });
  const gateway = await startGateway({ config, logger, proofs });
  await gateway.loaded;
  const close = async (): Promise<void> => {
    await gateway.close();
    await proofs.close();
    // the provers' (and the test's own verifications') snarkjs curve: its worker threads keep the process alive
    await releaseSnarkWorkers();
    rmSync(dataDir, { recursive: true, force: true });
    if (proofs.queue instanceof BullmqJobQueue) {
      const leftover = await BullmqJobQueue.open({ url: config.redisUrl, prefix: config.queuePrefix });
      await leftover.obliterate();
      await leftover.close();
    }
  };
  return {
    ...gateway,
    close,
    proofs,
    client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 }),
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Parses an SSE body into its `data:` payloads, checking the framing of every event. */
export function parseSse(body: string): string[] {
  if (!body.endsWith("\n\n")) throw new Error("SSE body must end with a blank line");
  return body
    .slice(0, -2)
    .split("\n\n")
    .map((event) => {
      if (!event.startsWith("data: ") || event.includes("\n"))
        throw new Error(`malformed SSE event: ${JSON.stringify(event)}`);
      return event.slice("data: ".length);
    });
}
