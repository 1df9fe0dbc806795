/**
 * Picks the onnxruntime execution provider for the served models. `auto` tries CUDA once (the provider
 * library is installed on demand, see shared/gpu/README.md) and falls back to CPU with one warning;
 * `cuda` fails when the provider does not load.
 */
import * as ort from "onnxruntime-node";
import type { DeviceChoice } from "../config/config.js";

export type Device = "cpu" | "cuda";

export interface ResolveDeviceOptions {
  readonly choice: DeviceChoice;
  /** Any ONNX model file, used to check that the CUDA provider really loads. */
  readonly probeModelPath: string;
  /** Told once when `auto` falls back to CPU. */
  readonly warn?: (message: string) => void;
}

/** Session options for a device; ORT's native log is kept to errors it cannot recover from. */
export function sessionOptions(device: Device): ort.InferenceSession.SessionOptions {
  return { executionProviders: device === "cuda" ? ["cuda"] : ["cpu"], logSeverityLevel: 3 };
}

export async function resolveDevice(options: ResolveDeviceOptions): Promise<Device> {
  if (options.choice === "cpu") return "cpu";
  try {
    // Fatal-only logging: a missing provider library is an expected outcome of `auto`, not an error.
    const probe = await ort.InferenceSession.create(options.probeModelPath, { executionProviders: ["cuda"], logSeverityLevel: 4 });
    await probe.release();
    return "cuda";
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    if (options.choice === "cuda") throw new Error(`PROOFGATE_DEVICE=cuda but the CUDA execution provider does not load: ${reason}`, { cause: err });
    options.warn?.(`CUDA execution provider unavailable (${reason}); serving on CPU`);
    return "cpu";
  }
}
