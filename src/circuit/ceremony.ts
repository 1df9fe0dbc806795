/**
 * Phase 1 of the Groth16 setup: a powers-of-tau ceremony (snarkjs), made once for the largest circuit
 * and committed. Each contribution mixes in fresh entropy and its hash is recorded, so anyone can check
 * the transcript with `snarkjs powersoftau verify`. Phase 2 runs per circuit (phase2.ts). A public
 * Perpetual Powers of Tau file can be used instead (see the README).
 */
import { randomBytes, createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as snarkjs from "snarkjs";
import { z } from "zod";
import { isProofgateError } from "../core/errors.js";
import { readArtifact } from "../core/read-artifact.js";
import type { Phase1 } from "../snark/setup-transcript.js";
import type { SnarkLogger } from "../snark/snark-logger.js";
import { ptauPower } from "./snark-binfile.js";

export interface CeremonyOptions {
  /** The file supports circuits of up to 2^power constraints. */
  readonly power: number;
  readonly outDir: string;
  /** Independent contributions; the result is sound if any one contributor was honest. @defaultValue 2 */
  readonly contributions?: number;
  readonly logger?: SnarkLogger;
}

/** `ceremony.json`, beside the phase-1 file it describes. */
export const CeremonyTranscript = z.object({
  curve: z.literal("bn128"),
  power: z.int(),
  file: z.string(),
  sha256: z.string(),
  contributions: z.array(z.object({ name: z.string(), hash: z.string() })).readonly(),
  made_with: z.string(),
});
export type CeremonyTranscript = z.infer<typeof CeremonyTranscript>;

export const TRANSCRIPT_FILE = "ceremony.json";

export function ptauFileName(power: number): string {
  return `pot${power}_final.ptau`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export async function runCeremony(options: CeremonyOptions): Promise<CeremonyTranscript> {
  const { power, outDir } = options;
  if (!Number.isInteger(power) || power < 8 || power > 28)
    throw new RangeError(`power must be an integer in [8, 28], got ${power}`);
  const rounds = options.contributions ?? 2;
  // snarkjs's new accumulator reports progress through logger.log (every 100,000 points: power 16 and up), the rest through info/debug
  const logger = options.logger ? { ...options.logger, log: options.logger.debug } : undefined;
  await mkdir(outDir, { recursive: true });
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const step = (i: number) => join(outDir, `pot${power}_${String(i).padStart(4, "0")}.ptau`);
  const contributions: { name: string; hash: string }[] = [];
  try {
    await snarkjs.powersOfTau.newAccumulator(curve, power, step(0), logger);
    for (let i = 1; i <= rounds; i++) {
      const name = `proofgate contribution ${i}`;
      const hash = await snarkjs.powersOfTau.contribute(step(i - 1), step(i), name, hex(randomBytes(64)), logger);
      contributions.push({ name, hash: hex(hash) });
      await rm(step(i - 1));
    }
    const file = ptauFileName(power);
    await snarkjs.powersOfTau.preparePhase2(step(rounds), join(outDir, file), logger);
    await rm(step(rounds));
    const transcript: CeremonyTranscript = {
      curve: "bn128",
      power,
      file,
      sha256: createHash("sha256")
        .update(await readFile(join(outDir, file)))
        .digest("hex"),
      contributions,
      made_with: "proofgate ceremony (snarkjs powersoftau new → contribute × n → prepare phase2)",
    };
    await writeFile(join(outDir, TRANSCRIPT_FILE), `${JSON.stringify(transcript, null, 2)}\n`);
    return transcript;
  } finally {
    await (curve as { terminate(): Promise<void> }).terminate();
  }
}

/** What the setup transcript takes from the ceremony's: enough to match the file and name its contributors. */
const CeremonyFile = CeremonyTranscript.pick({ sha256: true, contributions: true });

/** A ceremony transcript this proofgate cannot read only costs the phase-1 file its named contributions. */
async function readCeremony(path: string): Promise<z.infer<typeof CeremonyFile> | null> {
  try {
    return await readArtifact(path, CeremonyFile);
  } catch (err) {
    if (isProofgateError(err, "invalid_argument")) return null;
    throw err;
  }
}

async function fileHashes(path: string): Promise<{ blake2b: string; sha256: string }> {
  const blake = createHash("blake2b512");
  const sha = createHash("sha256");
  for await (const chunk of createReadStream(path)) {
    blake.update(chunk as Buffer);
    sha.update(chunk as Buffer);
  }
  return { blake2b: blake.digest("hex"), sha256: sha.digest("hex") };
}

/** The phase-1 file as the transcript names it; `shownAs` is the path to record (relative to the project). */
export async function describePhase1(ptau: string, shownAs: string): Promise<Phase1> {
  const [power, hashes] = await Promise.all([ptauPower(ptau), fileHashes(ptau)]);
  const ceremonyPath = join(dirname(ptau), TRANSCRIPT_FILE);
  const ceremony = existsSync(ceremonyPath) ? await readCeremony(ceremonyPath) : null;
  if (ceremony?.sha256 === hashes.sha256) {
    return {
      file: shownAs,
      power,
      ...hashes,
      contributions: [...ceremony.contributions],
      source: `proofgate ceremony (${join(dirname(shownAs), TRANSCRIPT_FILE)})`,
    };
  }
  return {
    file: shownAs,
    power,
    ...hashes,
    contributions: [],
    source: "made elsewhere: compare blake2b with the file's published hash and run snarkjs powersoftau verify",
  };
}
