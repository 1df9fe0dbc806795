/**
 * The gateway's Prometheus metrics, in a registry of their own (several gateways can live in one
 * process, as in tests). Also the engine's observer: batch sizes, active generations, tokens.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EngineObserver } from "../../model/engine-observer.js";
import type { DeviceSelection } from "../../model/execution-device.js";

export class GatewayMetrics implements EngineObserver {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: "proofgate_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "proofgate_http_request_duration_seconds",
    help: "HTTP request latency (to the last byte, streams included)",
    labelNames: ["method", "route"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: "proofgate_tokens_generated_total",
    help: "Tokens sampled by generations",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  private readonly active = new Gauge({
    name: "proofgate_active_generations",
    help: "Sequences holding a batch slot",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  private readonly waiting = new Gauge({
    name: "proofgate_waiting_generations",
    help: "Sequences waiting for a batch slot",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: "proofgate_batch_size",
    help: "Rows per batched decoding step",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  private readonly batchSeconds = new Histogram({
    name: "proofgate_batch_duration_seconds",
    help: "Time of one batched session.run",
    labelNames: ["model"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  private readonly deviceInfo = new Gauge({
    name: "proofgate_device_info",
    help: "1 for the device the models run on (cpu or cuda), with PROOFGATE_DEVICE as requested; absent while models load",
    labelNames: ["device", "requested"] as const,
    registers: [this.registry],
  });
  private readonly cudaFallback = new Gauge({
    name: "proofgate_device_cuda_fallback",
    help: "1 when PROOFGATE_DEVICE=auto fell back to CPU because CUDA could not be used (the reason is in the startup warning), else 0",
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: "proofgate_rate_limited_total",
    help: "Requests refused with 429 by a client limit: requests (per minute), sequences (per client at once), proof_backlog (proof backlog full)",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  /** Registries appended to this one's text (the proof metrics, when the gateway proves). */
  private readonly included: Registry[] = [];
  private readonly maxBatch = new Gauge({
    name: "proofgate_max_batch_size",
    help: "Most sequences per batched decoding step of a model",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "proofgate_" });
  }

  /** Serves `registry`'s metrics after this one's (their names must not overlap). */
  include(registry: Registry): void {
    if (!this.included.includes(registry)) this.included.push(registry);
  }

  rateLimited(limit: "requests" | "sequences" | "proof_backlog" | "proof_quota"): void {
    this.refusals.inc({ limit });
  }

  recordRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  deviceSelected(selection: DeviceSelection, maxBatchSize: number): void {
    this.deviceInfo.reset();
    this.deviceInfo.set({ device: selection.device, requested: selection.requested }, 1);
    this.cudaFallback.set(selection.fallbackReason === null ? 0 : 1);
    this.maxBatch.set(maxBatchSize);
  }

  batchRan(model: string, batchSize: number, seconds: number): void {
    this.batchSize.observe({ model }, batchSize);
    this.batchSeconds.observe({ model }, seconds);
  }

  activeChanged(model: string, active: number): void {
    this.active.set({ model }, active);
  }

  waitingChanged(model: string, waiting: number): void {
    this.waiting.set({ model }, waiting);
  }

  tokensGenerated(model: string, count: number): void {
    this.tokens.inc({ model }, count);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    const texts = await Promise.all([this.registry, ...this.included].map((r) => r.metrics()));
    return texts.join("");
  }
}
