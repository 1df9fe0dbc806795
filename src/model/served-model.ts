/**
 * A model directory loaded for serving: `model.onnx` (the graph that is run; for a provable model its
 * integer-exact graph), `card.json` when present, and the text front end it needs: `tokenizer.json`
 * for language models, `featurizer.json` for the hashed-word classifier. A directory with neither is
 * served for tensor inferences only (e.g. a compiled user model).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import * as ort from "onnxruntime-node";
import { CircuitManifest, MANIFEST_FILE } from "./circuit-manifest.js";
import { parseArtifact, readArtifact } from "../core/read-artifact.js";
import onnxProto from "onnx-proto";
import { z } from "zod";
import { ContinuousBatcher } from "./continuous-batcher.js";
import type { EngineObserver } from "./engine-observer.js";
import { sessionOptions, type Device } from "./execution-device.js";
import { integerModelFromOnnx, LOGITS_OUTPUT, type IntegerModel } from "./integer-model.js";
import { ModelCard } from "./model-card.js";
import { readFeaturizer, type SpamFeaturizerJSON } from "./spam-features.js";
import { Tokenizer, TokenizerJSON } from "./tokenizer.js";

export interface TensorInputSpec {
  readonly name: string;
  readonly type: string;
  /** Without the batch dimension; a string is a symbolic dimension of any size. */
  readonly shape: readonly (number | string)[];
}

interface ServedModelBase {
  readonly id: string;
  readonly dir: string;
  /** "text-generation", "text-classification", or "tensor" for a model without a text front end. */
  readonly task: string;
  readonly provable: boolean;
  readonly summary: string;
  readonly device: Device;
  /** Unix seconds: when model.onnx was written. */
  readonly created: number;
  readonly session: ort.InferenceSession;
  readonly input: TensorInputSpec;
  /** Present for integer-exact graphs: their layers and the integer input they accept. */
  readonly integer: IntegerModel | null;
  /** The compiled circuit's manifest (`circuit.json`, from `proofgate compile`), when the directory has one. */
  readonly circuit: CircuitManifest | null;
  /** Real value of one logit unit: the card's last output scale for integer models, else 1. */
  readonly logitScale: number;
}

export interface LanguageModel extends ServedModelBase {
  readonly kind: "language";
  readonly tokenizer: Tokenizer;
  readonly contextLength: number;
  readonly batcher: ContinuousBatcher;
}

export interface ClassifierModel extends ServedModelBase {
  readonly kind: "classifier";
  readonly featurizer: SpamFeaturizerJSON;
  readonly labels: readonly string[];
}

export interface TensorModel extends ServedModelBase {
  readonly kind: "tensor";
}

export type ServedModel = LanguageModel | ClassifierModel | TensorModel;

export interface LoadServedModelOptions {
  readonly dir: string;
  readonly device: Device;
  readonly maxBatchSize: number;
  readonly maxWaiting: number;
  readonly observer?: EngineObserver;
}

function lastOutputScale(card: ModelCard | null): number | undefined {
  const last = card?.quantization?.output_scales?.at(-1);
  return last !== undefined && last > 0 ? last : undefined;
}

export async function loadServedModel(options: LoadServedModelOptions): Promise<ServedModel> {
  const { dir, device } = options;
  const onnxPath = join(dir, "model.onnx");
  const bytes = readFileSync(onnxPath);
  const metadata = new Map(
    onnxProto.onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key ?? "", p.value ?? ""]),
  );
  const cardPath = join(dir, "card.json");
  const card = existsSync(cardPath) ? await readArtifact(cardPath, ModelCard) : null;
  const integer = integerModelFromOnnx(bytes);
  const logitScale = integer ? lastOutputScale(card) : 1;
  if (logitScale === undefined)
    throw new Error(`${dir}: integer-exact model without quantization.output_scales in card.json`);

  const session = await ort.InferenceSession.create(bytes, sessionOptions(device));
  const meta = session.inputMetadata[0];
  if (!meta?.isTensor) throw new Error(`${dir}: model.onnx has no tensor input`);
  const input: TensorInputSpec = { name: meta.name, type: meta.type, shape: meta.shape.slice(1) };

  const id = card?.id ?? metadata.get("proofgate.model_id") ?? basename(dir);
  const circuitPath = join(dir, MANIFEST_FILE);
  const circuit = integer && existsSync(circuitPath) ? await readArtifact(circuitPath, CircuitManifest) : null;
  const base = {
    id,
    dir,
    // provable = an integer-exact graph with its compiled circuit, unless the card says otherwise
    provable: circuit !== null && card?.provable !== false,
    summary: card?.summary ?? "",
    device,
    created: Math.floor(statSync(onnxPath).mtimeMs / 1000),
    session,
    input,
    integer,
    circuit,
    logitScale,
  };

  const tokenizerPath = join(dir, "tokenizer.json");
  if (existsSync(tokenizerPath)) {
    const tokenizer = Tokenizer.fromJSON(await readArtifact(tokenizerPath, TokenizerJSON));
    const contextLength = input.shape[0];
    if (typeof contextLength !== "number")
      throw new Error(`${dir}: a language model's input must have a fixed context length`);
    const batcher = new ContinuousBatcher({
      modelId: id,
      session,
      inputName: input.name,
      logitsName: LOGITS_OUTPUT,
      contextLength,
      padId: tokenizer.eotId,
      vocabSize: tokenizer.vocabSize,
      maxBatchSize: options.maxBatchSize,
      maxWaiting: options.maxWaiting,
      observer: options.observer,
    });
    return { ...base, kind: "language", task: "text-generation", tokenizer, contextLength, batcher };
  }
  const featurizerPath = join(dir, "featurizer.json");
  if (existsSync(featurizerPath)) {
    const featurizer = await readFeaturizer(featurizerPath);
    const labels = parseArtifact(
      `${onnxPath} metadata proofgate.labels`,
      metadata.get("proofgate.labels") ?? "[]",
      z.array(z.string()),
    );
    return { ...base, kind: "classifier", task: "text-classification", featurizer, labels };
  }
  return { ...base, kind: "tensor", task: card?.task ?? metadata.get("proofgate.task") ?? "tensor" };
}
