/** Wire schemas of POST /v1/inferences (SPEC): one sample in, the model's output out. */
import { z } from "zod";
import { ProofParamSchema, ProofRef } from "../proofs/protocol.js";

export type NestedNumbers = number | NestedNumbers[];
const NestedNumbers: z.ZodType<NestedNumbers> = z
  .lazy(() => z.union([z.number(), z.array(NestedNumbers)]))
  .meta({ id: "NestedNumbers" });

export const InferenceRequest = z
  .object({
    model: z.string().min(1),
    input: z
      .union([z.string(), z.array(NestedNumbers)])
      .describe(
        "text for text models, or one sample as nested arrays shaped as the model's input without the batch dimension",
      ),
    top_tokens: z
      .int()
      .min(1)
      .max(20)
      .nullish()
      .describe("alternatives listed with a language model's next token (default 5)"),
    proof: ProofParamSchema,
  })
  .meta({ id: "InferenceRequest" });
export type InferenceRequest = z.infer<typeof InferenceRequest>;

const Token = z.object({ id: z.int(), text: z.string(), logprob: z.number() });

export const NextTokenOutput = z
  .object({
    next_token: Token.describe("the greedy choice"),
    top_tokens: z.array(Token),
    context_tokens: z.int().describe("prompt tokens inside the context window"),
  })
  .meta({ id: "NextTokenOutput" });
export const ClassificationOutput = z
  .object({
    label: z.string(),
    label_id: z.int(),
    probabilities: z.record(z.string(), z.number()),
    logits: z.array(z.number()).describe("as the model outputs them (integers for integer-exact models)"),
  })
  .meta({ id: "ClassificationOutput" });
export const TensorOutput = z
  .record(z.string(), NestedNumbers)
  .describe("each ONNX output of the sample, without the batch dimension")
  .meta({ id: "TensorOutput" });

export const Inference = z
  .object({
    id: z.string(),
    object: z.literal("inference"),
    created: z.int(),
    model: z.string(),
    output: z.union([NextTokenOutput, ClassificationOutput, TensorOutput]),
    proof: ProofRef.optional().describe(
      "the proof record of this inference (provable models, unless the request sent proof: false)",
    ),
  })
  .meta({ id: "Inference" });
export type Inference = z.infer<typeof Inference>;
