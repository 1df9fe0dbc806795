/** Wire schemas of GET /v1/stats: proof counts per model, per worker, and recent latencies. */
import { z } from "zod";
import { CircuitSummary } from "../proofs/protocol.js";

/** How many of the newest records the stats cover when `?window=` is not given, and at most. */
export const STATS_WINDOW_DEFAULT = 1000;
export const STATS_WINDOW_MAX = 10_000;

const Milliseconds = z.number().nullable();

export const ProofCounts = z
  .object({
    total: z.int(),
    generating: z.int().describe("answers still being generated (their record exists before the first byte)"),
    queued: z.int(),
    proving: z.int(),
    proved: z.int(),
    submitted: z.int(),
    verified: z.int(),
    failed: z.int(),
  })
  .describe("records in the window, in all and by status")
  .meta({ id: "ProofCounts" });
export type ProofCounts = z.infer<typeof ProofCounts>;

export const ModelStats = z
  .object({
    model: z.string(),
    provable: z.boolean().describe("this gateway proves the model's answers (false for a model it no longer serves)"),
    circuit: CircuitSummary.nullable().describe("the model's compiled circuit; null when it has none"),
    proofs: ProofCounts,
    median_prove_ms: Milliseconds.describe(
      "median proving time of a record (a generation: the sum of its steps); null when none has one",
    ),
  })
  .meta({ id: "ModelStats" });

export const WorkerStats = z
  .object({
    prover: z.string().describe("a worker identity, as records name it"),
    proofs: z
      .int()
      .describe(
        "records in the window that name it, as their prover or a step's (a generation may name several workers)",
      ),
    median_prove_ms: Milliseconds.describe(
      "median time of one Groth16 proof it made (a single proof, or one step); null when none has one",
    ),
  })
  .meta({ id: "WorkerStats" });

export const LatencyPoint = z
  .object({
    id: z.string(),
    model: z.string(),
    created: z.int().describe("unix seconds"),
    total_ms: z.number().describe("from request to proved"),
  })
  .meta({ id: "LatencyPoint" });

export const Stats = z
  .object({
    object: z.literal("stats"),
    window: z.int().describe("how many of the newest records were asked for; the counts cover at most that many"),
    models: z.array(ModelStats).describe("every served model, then any other model with records in the window"),
    workers: z.array(WorkerStats).describe("most records first"),
    latency: z.array(LatencyPoint).describe("records with a total time, oldest first"),
  })
  .meta({ id: "Stats" });
export type Stats = z.infer<typeof Stats>;

export const StatsQuery = z.object({
  window: z
    .string()
    .regex(/^\d+$/, "expected an integer")
    .transform(Number)
    .pipe(z.int().min(1).max(STATS_WINDOW_MAX))
    .optional()
    .describe(`how many of the newest records to cover, 1 to ${STATS_WINDOW_MAX} (default ${STATS_WINDOW_DEFAULT})`),
});
export type StatsQuery = z.infer<typeof StatsQuery>;
