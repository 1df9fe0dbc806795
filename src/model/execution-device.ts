/**
 * Picks the onnxruntime execution provider for the served models. `cpu` never looks at CUDA. `auto`
 * uses CUDA when its provider loads and falls back to CPU with one warning naming the reason; `cuda`
 * fails, with the same reason, when the provider does not load.
 *
 * The CUDA provider is two libraries that onnxruntime-node loads from its own native folder, installed
 * on demand by `make gpu` (scripts/gpu-install.sh, see ../shared/gpu/README.md). When they are not
 * there the answer is known without asking onnxruntime; when they are, a probe session says whether
 * they load, and on Linux `ldd` names the CUDA libraries they could not find.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { DeviceChoice } from "../config/config.js";

export type Device = "cpu" | "cuda";

/** The device chosen, what was asked for, and why CUDA was not used when `auto` fell back to CPU. */
export interface DeviceSelection {
  readonly device: Device;
  readonly requested: DeviceChoice;
  /** Set when `auto` fell back to CPU; null otherwise. */
  readonly fallbackReason: string | null;
}

export interface ResolveDeviceOptions {
  readonly choice: DeviceChoice;
  /** Any ONNX model file, used to check that the CUDA provider really loads. */
  readonly probeModelPath: string;
  /** Told once when `auto` falls back to CPU. */
  readonly warn?: (message: string) => void;
  /** Where the provider libraries are looked for; default onnxruntime-node's native folder (tests point elsewhere). */
  readonly providerDir?: string;
}

/** The provider libraries, by platform: the shared bridge first, then the CUDA provider itself. */
export function cudaProviderLibraries(platform: NodeJS.Platform = process.platform): readonly string[] | null {
  if (platform === "linux") return ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
  if (platform === "win32") return ["onnxruntime_providers_shared.dll", "onnxruntime_providers_cuda.dll"];
  return null;
}

/** onnxruntime-node's native folder: where it loads execution provider libraries from. */
export function ortNativeDir(): string {
  const pkg = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
  return join(dirname(pkg), "bin", "napi-v6", process.platform, process.arch);
}

/** Session options for a device; ORT's native log is kept to errors it cannot recover from. */
export function sessionOptions(device: Device): ort.InferenceSession.SessionOptions {
  return { executionProviders: device === "cuda" ? ["cuda"] : ["cpu"], logSeverityLevel: 3 };
}

export async function resolveDevice(options: ResolveDeviceOptions): Promise<Device> {
  return (await selectDevice(options)).device;
}

export async function selectDevice(options: ResolveDeviceOptions): Promise<DeviceSelection> {
  const { choice } = options;
  if (choice === "cpu") return { device: "cpu", requested: choice, fallbackReason: null };
  const reason = await cudaUnavailableReason(options.probeModelPath, options.providerDir ?? ortNativeDir());
  if (reason === null) return { device: "cuda", requested: choice, fallbackReason: null };
  if (choice === "cuda") throw new Error(`PROOFGATE_DEVICE=cuda but CUDA cannot be used: ${reason}`);
  options.warn?.(`PROOFGATE_DEVICE=auto: serving on CPU, since CUDA cannot be used: ${reason}`);
  return { device: "cpu", requested: choice, fallbackReason: reason };
}

/** Null when a CUDA session of `probeModelPath` can be created, else why not, in one line. */
export async function cudaUnavailableReason(
  probeModelPath: string,
  providerDir: string = ortNativeDir(),
): Promise<string | null> {
  const libraries = cudaProviderLibraries();
  if (!libraries) return `onnxruntime-node has no CUDA provider for ${process.platform}`;
  const missing = libraries.filter((lib) => !existsSync(join(providerDir, lib)));
  if (missing.length > 0)
    return `CUDA provider not installed (run make gpu): ${missing.join(", ")} not in ${providerDir}`;
  // A provider library that fails to load is reported by ORT's process-wide logger (not the session's)
  // as an [E:onnxruntime] line on stderr, before the exception says it again with less detail. That
  // logger's level is fixed when the process creates its first session, which the probe is in
  // `serve`: at "fatal" it stays quiet, and the warning below is the one message. Sessions log at
  // their own level (sessionOptions), so nothing else is muted.
  const before = ort.env.logLevel;
  ort.env.logLevel = "fatal";
  try {
    const probe = await ort.InferenceSession.create(probeModelPath, {
      executionProviders: ["cuda"],
      logSeverityLevel: 4,
    });
    await probe.release();
    return null;
  } catch (err) {
    const message = (err as Error).message.split("\n")[0]!.trim();
    const unresolved = unresolvedDependencies(join(providerDir, libraries[1]!));
    return unresolved.length > 0
      ? `the CUDA provider does not load: ${unresolved.join(", ")} not found (put the CUDA and cuDNN libraries on LD_LIBRARY_PATH)`
      : `the CUDA provider does not load: ${message}`;
  } finally {
    if (before !== undefined) ort.env.logLevel = before;
  }
}

/** Shared libraries `library` needs that the dynamic loader cannot find (Linux `ldd`; empty elsewhere or on error). */
function unresolvedDependencies(library: string): string[] {
  if (process.platform !== "linux") return [];
  const ldd = spawnSync("ldd", [library], { encoding: "utf8", timeout: 10_000 });
  if (ldd.error || typeof ldd.stdout !== "string") return [];
  return ldd.stdout
    .split("\n")
    .filter((line) => line.includes("=> not found"))
    .map((line) => line.trim().split(/\s+/)[0]!);
}
