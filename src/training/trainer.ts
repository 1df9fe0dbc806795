/**
 * The training loop: one onnxruntime session runs the step graph (forward, loss, gradients), Adam
 * updates the parameters in JavaScript, and a schedule sets the learning rate.
 */
import ort from "onnxruntime-node";
import { Adam, cosineSchedule } from "./adam.js";
import { LOSS_OUTPUT, TARGET_INPUT, type TrainingGraph } from "./training-graph.js";

export interface Batch {
  /** The model input for the whole batch. */
  readonly input: ort.Tensor;
  /** Target distribution, [batch, classes] row-major. */
  readonly target: Float32Array;
}

/** AdamW with a linear warm-up and a cosine decay: the optimizer's every setting a model card states. */
export interface OptimizerSettings {
  /** Peak learning rate. */
  readonly learningRate: number;
  /** Fraction of the steps spent warming up linearly. */
  readonly warmupFraction: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Decoupled decay on matrices; 0 makes it plain Adam. */
  readonly weightDecay: number;
}

export interface TrainOptions {
  readonly graph: TrainingGraph;
  readonly inputName: string;
  readonly classes: number;
  readonly steps: number;
  readonly nextBatch: (step: number) => Batch | Promise<Batch>;
  readonly optimizer: OptimizerSettings;
  /** Called every `progressEvery` steps with the mean loss since the last call. */
  readonly onProgress?: (step: number, meanLoss: number) => void;
  /** @defaultValue 50 */
  readonly progressEvery?: number;
}

export interface TrainResult {
  readonly steps: number;
  readonly seconds: number;
  readonly finalLoss: number;
}

/** Session options for every training and evaluation session: one intra-op thread, because onnxruntime's multi-threaded kernels reorder float sums and the same seed must give byte-identical weights. */
export function trainingSessionOptions(): ort.InferenceSession.SessionOptions {
  return { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { graph, steps } = options;
  const session = await ort.InferenceSession.create(graph.bytes, trainingSessionOptions());
  const { learningRate, warmupFraction, beta1, beta2, weightDecay } = options.optimizer;
  const adam = new Adam(graph.params, { beta1, beta2, weightDecay });
  const warmup = Math.max(1, Math.floor(steps * warmupFraction));
  const every = options.progressEvery ?? 50;
  const started = performance.now();
  let sinceReport = 0;
  let reportCount = 0;
  let finalLoss = NaN;
  try {
    for (let step = 0; step < steps; step++) {
      const batch = await options.nextBatch(step);
      const feeds: Record<string, ort.Tensor> = {
        [options.inputName]: batch.input,
        [TARGET_INPUT]: new ort.Tensor("float32", batch.target, [graph.batchSize, options.classes]),
      };
      graph.params.forEach((p, i) => {
        feeds[graph.paramInputs[i]] = new ort.Tensor("float32", p.data, p.shape as number[]);
      });
      const out = await session.run(feeds);
      const loss = (out[LOSS_OUTPUT].data as Float32Array)[0];
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss ${loss}`);
      adam.step(
        graph.gradOutputs.map((name) => out[name].data as Float32Array),
        cosineSchedule(step, steps, learningRate, warmup),
      );
      finalLoss = loss;
      sinceReport += loss;
      reportCount++;
      if (options.onProgress && (reportCount === every || step === steps - 1)) {
        options.onProgress(step + 1, sinceReport / reportCount);
        sinceReport = 0;
        reportCount = 0;
      }
    }
  } finally {
    await session.release();
  }
  return { steps, seconds: (performance.now() - started) / 1000, finalLoss };
}
