/**
 * Wire schemas of GET /v1/models, GET /v1/models/{id} (OpenAI model objects plus what proofgate adds)
 * and GET /v1/models/{id}/setup (the trusted setup's transcript, as setup.json holds it).
 */
import { z } from "zod";

export { SetupTranscript } from "../../snark/setup-transcript.js";

export const ModelObject = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.int().describe("unix seconds when model.onnx was written"),
    owned_by: z.string(),
    provable: z.boolean().describe("inferences of this model can be proven (integer-exact graph)"),
    device: z.enum(["cpu", "cuda"]),
    task: z.string().describe("text-generation, text-classification, or tensor"),
    context_length: z.int().nullable().describe("tokens a language model reads; null for other models"),
    input: z
      .object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.int(), z.string()])) })
      .describe("tensor input of one sample (no batch dimension)"),
    summary: z.string(),
  })
  .meta({ id: "Model" });
export type ModelObject = z.infer<typeof ModelObject>;

export const ModelList = z.object({ object: z.literal("list"), data: z.array(ModelObject) }).meta({ id: "ModelList" });
export type ModelList = z.infer<typeof ModelList>;
