/**
 * Model cards: `card.json` (machine-readable) and `README.md` (the same facts for people), written
 * beside each model. Nothing time-dependent goes in, so a rebuild with the same seed is byte-identical.
 */
import { createHash } from "node:crypto";
import { maxIntermediate, type IntegerModel } from "../model/integer-model.js";
import type { CircuitEstimate, ModelCard } from "../model/model-card.js";
import type { QuantizeOptions, QuantizeResult } from "../model/quantize.js";
import type { OptimizerSettings } from "./trainer.js";

/** Per-op constraint costs of the circuit the compiler will emit, from the integer model. */
export function estimateConstraints(model: IntegerModel): CircuitEstimate {
  const breakdown: Record<string, number> = {};
  const bound = maxIntermediate(model);
  if (model.input.kind === "tokens") {
    // per position: V boolean selector bits plus one sum-to-one constraint; the table lookup is linear
    breakdown.one_hot_inputs = model.input.context * (model.input.vocabSize + 1);
  } else {
    breakdown.input_bits = model.input.size;
  }
  let requantize = 0;
  for (const layer of model.layers) {
    if (layer.kind !== "requantize") continue;
    // remainder in [0, 2^shift) + signed quotient decomposed for ReLU and saturation
    const quotientBits = Math.ceil(Math.log2(bound / 2 ** layer.shift + 1)) + 1;
    requantize += layer.width * (layer.shift + quotientBits + 2);
  }
  breakdown.requantize = requantize;
  // arg-max: one selector bit, one product and one range-checked difference per class
  breakdown.argmax = model.classes * (Math.ceil(Math.log2(2 * bound + 1)) + 2);
  breakdown.commitments = 600;
  const constraints = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return {
    constraints,
    breakdown,
    note: "dense layers with constant weights fold into linear combinations and cost no constraints",
  };
}

/** A fraction in percent, without float noise (0.07 → 7, not 7.000000000000001). */
const percent = (fraction: number): number => +(fraction * 100).toFixed(6);

/** The optimizer as a card states it, from the settings that trained the model. */
export function optimizerCard(o: OptimizerSettings): { optimizer: string; learning_rate: string } {
  return {
    optimizer: `AdamW (β ${o.beta1}/${o.beta2}${o.weightDecay ? `, decay ${o.weightDecay}` : ""})`,
    learning_rate: `${o.learningRate.toExponential()} peak, ${percent(o.warmupFraction)}% warm-up, cosine`,
  };
}

/** Every setting of post-training quantization, none left to quantizeModel's defaults. */
export type QuantizationSettings = Required<Omit<QuantizeOptions, "calibration">>;

/** The quantization as a card states it: the settings used, what they gave, and (when given) what it was calibrated on. */
export function quantizationCard(
  settings: QuantizationSettings,
  result: QuantizeResult,
  calibratedOn?: string,
): NonNullable<ModelCard["quantization"]> {
  const tables = result.model.layers.some((l) => l.kind === "positional_tables");
  return {
    method: "post-training, symmetric per-tensor weights, power-of-two requantization",
    ...(tables ? { table_bits: settings.tableBits } : {}),
    weight_bits: settings.weightBits,
    activation_bits: settings.activationBits,
    requantize_shifts: result.shifts,
    output_scales: result.outputScales,
    ...(calibratedOn
      ? { calibration: `${calibratedOn}, ${percent(settings.percentile)}th percentile of activations` }
      : {}),
    max_intermediate: result.maxIntermediate,
  };
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function table(rows: [string, unknown][]): string {
  return [
    "| | |",
    "|---|---|",
    ...rows.map(([k, v]) => `| ${k} | ${typeof v === "object" ? `\`${JSON.stringify(v)}\`` : String(v)} |`),
  ].join("\n");
}

export function cardReadme(card: ModelCard): string {
  const sections: string[] = [`# ${card.id}`, "", card.summary, ""];
  sections.push(
    "## Architecture",
    "",
    table(Object.entries(card.architecture)),
    "",
    `Parameters: ${card.parameters.toLocaleString("en-US")}`,
    "",
  );
  sections.push("## Data", "", table(Object.entries(card.data)), "");
  if (card.tokenizer) sections.push("## Tokenizer", "", table(Object.entries(card.tokenizer)), "");
  if (card.featurizer) sections.push("## Featurizer", "", table(Object.entries(card.featurizer)), "");
  sections.push("## Training", "", table(Object.entries(card.training)), "");
  if (card.quantization)
    sections.push("## Quantization (integer-exact)", "", table(Object.entries(card.quantization)), "");
  if (card.circuit_estimate) {
    sections.push(
      "## Circuit estimate",
      "",
      `About ${card.circuit_estimate.constraints.toLocaleString("en-US")} constraints (${card.circuit_estimate.note}).`,
      "",
      table(Object.entries(card.circuit_estimate.breakdown)),
      "",
    );
  }
  sections.push("## Held-out metrics", "");
  for (const [name, metrics] of Object.entries(card.metrics)) {
    sections.push(`### ${name}`, "", table(Object.entries(metrics as Record<string, unknown>)), "");
  }
  sections.push("## Files", "", table(Object.entries(card.files).map(([f, h]) => [f, `sha256 ${h}`])), "");
  sections.push("Rebuild with `proofgate models build` (same seed, byte-identical files).", "");
  return sections.join("\n");
}
