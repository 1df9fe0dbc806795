/** GET /health: ready once every model is loaded, with the device they run on. */
import { ProofgateError } from "../../core/errors.js";
import type { ModelRegistry } from "../../model/model-registry.js";
import type { Health } from "./protocol.js";

export class HealthService {
  constructor(private readonly registry: ModelRegistry) {}

  /** The health report, or a `not_ready` error (503) while models load. */
  check(): Health {
    if (!this.registry.ready)
      throw new ProofgateError("not_ready", "Models are loading; try again shortly", { retryable: true });
    return {
      status: "ok",
      device: this.registry.device!,
      device_requested: this.registry.deviceSelection!.requested,
      models: this.registry.list().map((m) => ({ id: m.id, task: m.task, provable: m.provable, device: m.device })),
    };
  }
}
