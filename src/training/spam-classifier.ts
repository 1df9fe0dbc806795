/**
 * The spam classifier: hashed-word presence bits → dense → ReLU → dense → {ham, spam}, trained on
 * SpamAssassin and scored on its held-out messages.
 */
import ort from "onnxruntime-node";
import type { Random } from "../core/random.js";
import type { FloatModel } from "../model/quantize.js";
import { Dense, Relu, type Layer } from "./layers.js";
import { buildTrainingGraph } from "./training-graph.js";
import { train, type OptimizerSettings, type TrainResult } from "./trainer.js";

export const SPAM_HIDDEN = 32;
export const SPAM_CLASSES = ["ham", "spam"] as const;

export function spamLayers(features: number, rng: Random): Layer[] {
  return [new Dense("hidden", features, SPAM_HIDDEN, rng), new Relu(), new Dense("out", SPAM_HIDDEN, 2, rng, 1)];
}

export function spamFloatModel(layers: readonly Layer[], features: number): FloatModel {
  const [hidden, , out] = layers as [Dense, Relu, Dense];
  return {
    input: { kind: "bits", size: features },
    classes: 2,
    layers: [
      {
        kind: "dense",
        inputs: hidden.inputs,
        outputs: hidden.outputs,
        weight: hidden.weight.data,
        bias: hidden.bias.data,
      },
      { kind: "relu" },
      { kind: "dense", inputs: out.inputs, outputs: out.outputs, weight: out.weight.data, bias: out.bias.data },
    ],
  };
}

export interface SpamTrainOptions {
  readonly features: readonly Float32Array[];
  readonly labels: readonly boolean[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerSettings;
  readonly rng: Random;
  readonly onProgress?: (step: number, meanLoss: number) => void;
}

export async function trainSpamClassifier(layers: readonly Layer[], o: SpamTrainOptions): Promise<TrainResult> {
  const size = o.features[0].length;
  const graph = buildTrainingGraph(layers, { name: "features", type: "float32", shape: [size] }, 2, o.batchSize);
  const perEpoch = Math.floor(o.features.length / o.batchSize);
  let order: number[] = [];
  return train({
    graph,
    inputName: "features",
    classes: 2,
    steps: perEpoch * o.epochs,
    optimizer: o.optimizer,
    onProgress: o.onProgress,
    progressEvery: perEpoch,
    nextBatch: (step) => {
      if (step % perEpoch === 0) order = o.rng.shuffle(Array.from(o.features.keys()));
      const start = (step % perEpoch) * o.batchSize;
      const input = new Float32Array(o.batchSize * size);
      const target = new Float32Array(o.batchSize * 2);
      for (let b = 0; b < o.batchSize; b++) {
        const k = order[start + b];
        input.set(o.features[k], b * size);
        target[b * 2 + (o.labels[k] ? 1 : 0)] = 1;
      }
      return { input: new ort.Tensor("float32", input, [o.batchSize, size]), target };
    },
  });
}

export interface ClassifierMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly examples: number;
}

/** Spam is the positive class. */
export function classifierMetrics(predictedSpam: readonly boolean[], labels: readonly boolean[]): ClassifierMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  predictedSpam.forEach((p, i) => {
    if (p === labels[i]) correct++;
    if (p && labels[i]) tp++;
    if (p && !labels[i]) fp++;
    if (!p && labels[i]) fn++;
  });
  const r = (x: number) => Math.round(x * 10000) / 10000;
  return {
    accuracy: r(correct / labels.length),
    precision: r(tp / Math.max(1, tp + fp)),
    recall: r(tp / Math.max(1, tp + fn)),
    examples: labels.length,
  };
}
