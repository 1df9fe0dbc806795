/**
 * `setup.json`, next to each compiled circuit: who took part in its trusted setup. Phase 1 is the
 * powers-of-tau file (named by its hashes, with its contributions where proofgate's own ceremony
 * recorded them); phase 2 is the chain of contributions read back from the proving key itself, in
 * order, and the random beacon that ends it. Whether snarkjs verified that chain against the r1cs
 * and the phase-1 file is recorded too; anyone can rerun that check (`proofgate ceremony phase2 verify`).
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { readArtifact, versioned } from "../core/read-artifact.js";

export const SETUP_FILE = "setup.json";

const Blake2b = z
  .string()
  .regex(/^[0-9a-f]{128}$/)
  .describe("blake2b-512, hex");

export const SetupBeacon = z.object({
  hash: z
    .string()
    .regex(/^[0-9a-f]+$/)
    .describe("the public random value (hex) the beacon's key is derived from"),
  iterations: z.int().min(10).max(63).describe("log2 of the SHA-256 rounds applied to it (snarkjs numIterationsExp)"),
  source: z.string().nullable().describe("where the value comes from, so anyone can recompute it"),
});
export type SetupBeacon = z.infer<typeof SetupBeacon>;

export const SetupContribution = z.object({
  name: z.string(),
  hash: Blake2b.describe("the contribution hash snarkjs prints to its contributor"),
  beacon: SetupBeacon.omit({ source: true }).nullable().describe("set when this step is a beacon, not a secret"),
});
export type SetupContribution = z.infer<typeof SetupContribution>;

export const SetupTranscript = versioned(
  "format",
  z
    .object({
      format: z.literal(1),
      curve: z.literal("bn128"),
      phase1: z.object({
        file: z.string(),
        power: z.int().describe("the file supports circuits of up to 2^power constraints (read from its header)"),
        blake2b: Blake2b.describe("of the whole file, as published for the Perpetual Powers of Tau files (b2sum)"),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        contributions: z
          .array(z.object({ name: z.string(), hash: Blake2b }))
          .describe("as proofgate's own ceremony recorded them; empty for a file made elsewhere"),
        source: z.string(),
      }),
      phase2: z.object({
        circuit_hash: Blake2b.describe("snarkjs's hash of the constraint system the key was made for"),
        contributions: z
          .array(SetupContribution)
          .describe("every step in the proving key, in order, the beacon included"),
        beacon: SetupBeacon.nullable().describe(
          "the final step when it is a beacon; null when the chain does not end with one",
        ),
      }),
      verified: z
        .boolean()
        .describe("snarkjs zKey.verifyFromR1cs accepted the whole chain against circuit.r1cs and the phase-1 file"),
      verified_with: z.string(),
      vkey_hash: z.string().describe("the verification key this setup produced"),
    })
    .meta({ id: "SetupTranscript" }),
);
export type SetupTranscript = z.infer<typeof SetupTranscript>;

export type Phase1 = SetupTranscript["phase1"];

export async function readSetupTranscript(dir: string): Promise<SetupTranscript | null> {
  const path = join(dir, SETUP_FILE);
  return existsSync(path) ? readArtifact(path, SetupTranscript) : null;
}

export async function writeSetupTranscript(dir: string, transcript: SetupTranscript): Promise<void> {
  await writeFile(join(dir, SETUP_FILE), `${JSON.stringify(SetupTranscript.parse(transcript), null, 2)}\n`);
}
