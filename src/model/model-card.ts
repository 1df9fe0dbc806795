/**
 * `card.json`, beside each built model: its shape, read by the serving side (id, task, summary, the
 * output scale of an integer model) and written by training/model-card.ts, which also renders it for
 * people. Here, not in training/, so serving a model never loads the trainer.
 */
import { z } from "zod";

/** Per-op constraint costs of the circuit the compiler will emit (an estimate until it exists). */
export const CircuitEstimate = z.object({
  constraints: z.int(),
  breakdown: z.record(z.string(), z.number()),
  note: z.string(),
});
export type CircuitEstimate = z.infer<typeof CircuitEstimate>;

/** Facts for the card's tables: free-form, rendered as they are. */
const Facts = z.record(z.string(), z.unknown());

export const ModelCard = z.object({
  id: z.string(),
  task: z.enum(["text-generation", "text-classification"]),
  provable: z.boolean(),
  summary: z.string(),
  architecture: Facts,
  parameters: z.int(),
  data: Facts,
  tokenizer: Facts.optional(),
  featurizer: Facts.optional(),
  training: Facts,
  /** An integer model's: the last of `output_scales` is the real value of one logit unit. */
  quantization: z.looseObject({ output_scales: z.array(z.number()).readonly().optional() }).optional(),
  circuit_estimate: CircuitEstimate.optional(),
  /** Per held-out set: its metrics. */
  metrics: Facts,
  /** File name → sha256. */
  files: z.record(z.string(), z.string()),
});
export type ModelCard = z.infer<typeof ModelCard>;
