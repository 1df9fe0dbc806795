/** `proofgate models build`: retrains the shipped models from the corpora (see src/training). */
import { resolve } from "node:path";
import { UsageError, type Verb } from "./verb.js";

export const modelsBuild: Verb = {
  path: ["models", "build"],
  usage: "models build [--out <dir>] [--seed <n>] [--smoke]",
  description:
    "Rebuilds the shipped models (tokenizer, teacher, distilled student, spam classifier) with their model cards. The same seed gives byte-identical files. Takes about 20 minutes on 2 cores.",
  options: {
    out: { type: "string", description: "output folder (default artifacts/models)" },
    seed: { type: "string", description: "random seed (default 20261124)" },
    smoke: { type: "boolean", description: "a seconds-long run of the same pipeline on a sliver of the data" },
  },
  async run({ values }) {
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed))
      throw new UsageError(`--seed must be an integer, got ${String(values.seed)}`);
    const outDir = resolve(String(values.out ?? "artifacts/models"));
    // loaded here, not at the top: every command reads the verb table, `serve` too
    const { buildModels, PRESETS } = await import("../training/build-models.js");
    const result = await buildModels({ outDir, seed, preset: values.smoke ? PRESETS.smoke : PRESETS.full });
    for (const card of result.cards) console.log(`${card.id}: ${JSON.stringify(card.metrics)}`);
    console.log(`seconds per stage: ${JSON.stringify(result.seconds)}`);
    console.log(`written to ${outDir}`);
    return 0;
  },
};
