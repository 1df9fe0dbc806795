/**
 * Phase 2 of the Groth16 setup, per circuit: a chain of contributions to the circuit's proving key
 * (a snarkjs zkey). Each contributor mixes in a secret and forgets it; the key is sound if any one of
 * them was honest, and a final public random beacon means not even the last contributor chose the
 * key. Anyone can check the chain from the circuit's r1cs and the phase-1 file. `proofgate compile`
 * starts the chain; outside parties extend it with only the zkey (`contributePhase2`); a verified
 * key is then installed into the model directory with its verification key, Solidity verifier,
 * manifest hash and transcript.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import * as snarkjs from "snarkjs";
import { z } from "zod";
import { PROJECT_ROOT } from "../config/project.js";
import { readArtifact } from "../core/read-artifact.js";
import { loadManifest, MANIFEST_FILE, type CircuitManifest } from "../model/circuit-manifest.js";
import {
  readSetupTranscript,
  writeSetupTranscript,
  type SetupContribution,
  type SetupTranscript,
} from "../snark/setup-transcript.js";
import type { SnarkLogger } from "../snark/snark-logger.js";
import { vkeyHash } from "../snark/vkey-hash.js";
import { describePhase1 } from "./ceremony.js";
import { readSection } from "./snark-binfile.js";

const require = createRequire(import.meta.url);

/** snarkjs keeps at most 64 bytes of a contributor's name. */
const MAX_NAME_BYTES = 64;
const MPC_SECTION = 10;
const SNARKJS_DIR = join(dirname(require.resolve("snarkjs")), "..");

export interface Phase2Chain {
  /** snarkjs's hash of the constraint system the key was made for. */
  readonly circuitHash: string;
  readonly contributions: readonly SetupContribution[];
}

function checkName(name: string): void {
  if (name.trim() === "") throw new Error("a contribution needs a name");
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    throw new Error(
      `a contribution name has at most ${MAX_NAME_BYTES} bytes; "${name}" has ${Buffer.byteLength(name)}`,
    );
}

interface CurvePoints {
  G1: { fromRprLEM(b: Uint8Array, o: number): unknown; toRprUncompressed(b: Uint8Array, o: number, p: unknown): void };
  G2: { fromRprLEM(b: Uint8Array, o: number): unknown; toRprUncompressed(b: Uint8Array, o: number, p: unknown): void };
  terminate(): Promise<void>;
}

/**
 * The contributions a proving key holds (its MPC section), with the hash snarkjs printed to each
 * contributor: blake2b-512 of the contribution's public key, points uncompressed as snarkjs hashes them.
 */
export async function readPhase2Chain(zkey: string): Promise<Phase2Chain> {
  const mpc = await readSection(zkey, "zkey", MPC_SECTION);
  const curve = (await snarkjs.curves.getCurveFromName("bn128", { singleThread: true })) as CurvePoints;
  try {
    const uncompressed = (group: "G1" | "G2", bytes: Buffer): Uint8Array => {
      const out = new Uint8Array(bytes.length);
      curve[group].toRprUncompressed(out, 0, curve[group].fromRprLEM(bytes, 0));
      return out;
    };
    const circuitHash = mpc.subarray(0, 64).toString("hex");
    const count = mpc.readUInt32LE(64);
    let at = 68;
    const take = (n: number) => {
      if (at + n > mpc.length) throw new Error(`${zkey}: its contribution section is truncated`);
      at += n;
      return mpc.subarray(at - n, at);
    };
    const contributions: SetupContribution[] = [];
    for (let i = 0; i < count; i++) {
      const hash = createHash("blake2b512");
      // deltaAfter, g1_s, g1_sx (G1), g2_spx (G2), then the 64-byte transcript
      for (const group of ["G1", "G1", "G1", "G2"] as const)
        hash.update(uncompressed(group, take(group === "G1" ? 64 : 128)));
      hash.update(take(64));
      const type = take(4).readUInt32LE(0);
      const params = take(take(4).readUInt32LE(0));
      let name = "";
      let iterations: number | null = null;
      let beaconHash: string | null = null;
      for (let p = 0; p < params.length; ) {
        const kind = params[p++];
        if (kind === 2) iterations = params[p++];
        else {
          const length = params[p++];
          const value = params.subarray(p, p + length);
          p += length;
          if (kind === 1) name = value.toString("utf8");
          else if (kind === 3) beaconHash = value.toString("hex");
          else throw new Error(`${zkey}: contribution ${i + 1} has an unknown parameter ${kind}`);
        }
      }
      const beacon = type === 1 && beaconHash !== null && iterations !== null ? { hash: beaconHash, iterations } : null;
      contributions.push({ name, hash: hash.digest("hex"), beacon });
    }
    return { circuitHash, contributions };
  } finally {
    await curve.terminate();
  }
}

/** Starts a circuit's chain: the key from the r1cs and phase 1, then one contribution with fresh entropy. */
export async function startPhase2(options: {
  r1cs: string;
  ptau: string;
  out: string;
  name: string;
  logger?: SnarkLogger;
}): Promise<string> {
  checkName(options.name);
  const scratch = await mkdtemp(join(tmpdir(), "pg-phase2-"));
  try {
    const initial = join(scratch, "circuit_0000.zkey");
    await snarkjs.zKey.newZKey(options.r1cs, options.ptau, initial, options.logger);
    return Buffer.from(
      await snarkjs.zKey.contribute(
        initial,
        options.out,
        options.name,
        randomBytes(64).toString("hex"),
        options.logger,
      ),
    ).toString("hex");
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * One outside contribution: needs only the current key. snarkjs mixes the system's randomness with
 * `entropy` (fresh random bytes when not given). Returns the hash the contributor publishes.
 */
export async function contributePhase2(options: {
  input: string;
  output: string;
  name: string;
  entropy?: string;
  logger?: SnarkLogger;
}): Promise<string> {
  checkName(options.name);
  await readPhase2Chain(options.input);
  const entropy = options.entropy && options.entropy.length > 0 ? options.entropy : randomBytes(64).toString("hex");
  return Buffer.from(
    await snarkjs.zKey.contribute(options.input, options.output, options.name, entropy, options.logger),
  ).toString("hex");
}

/**
 * The public random beacon: a contribution whose secret is derived from `beacon` (hex, e.g. a future
 * block hash) by 2^iterations SHA-256 rounds, so nobody could have chosen it.
 */
export async function beaconPhase2(options: {
  input: string;
  output: string;
  name: string;
  beacon: string;
  iterations: number;
  logger?: SnarkLogger;
}): Promise<string> {
  checkName(options.name);
  if (!/^([0-9a-f]{2}){1,255}$/i.test(options.beacon))
    throw new Error(`the beacon must be 1 to 255 bytes of hex, got "${options.beacon}"`);
  if (!Number.isInteger(options.iterations) || options.iterations < 10 || options.iterations > 63)
    throw new Error(`beacon iterations (log2) must be an integer from 10 to 63, got ${options.iterations}`);
  await readPhase2Chain(options.input);
  const hash = await snarkjs.zKey.beacon(
    options.input,
    options.output,
    options.name,
    options.beacon.toLowerCase(),
    options.iterations,
    options.logger,
  );
  // snarkjs answers false (not an error) to parameters it refuses
  if (!(hash instanceof Uint8Array)) throw new Error("snarkjs refused the beacon parameters");
  return Buffer.from(hash).toString("hex");
}

/** snarkjs zKey.verifyFromR1cs: every contribution's proof, and the key derived from this r1cs and phase-1 file. */
export async function verifyPhase2(options: {
  r1cs: string;
  ptau: string;
  zkey: string;
  logger?: SnarkLogger;
}): Promise<boolean> {
  await readPhase2Chain(options.zkey);
  return snarkjs.zKey.verifyFromR1cs(options.r1cs, options.ptau, options.zkey, options.logger);
}

/** The verification key and Solidity verifier of a proving key. */
export async function exportKeys(
  zkey: string,
  logger?: SnarkLogger,
): Promise<{ vkey: Record<string, unknown>; verifierSol: string }> {
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey, logger);
  const template = await readFile(join(SNARKJS_DIR, "templates", "verifier_groth16.sol.ejs"), "utf8");
  return { vkey, verifierSol: await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template }, logger) };
}

/** The phase-1 file a compiled model was made with (its manifest's, relative to the project), unless one is given. */
export function modelPtau(manifest: CircuitManifest, given?: string): string {
  const path = given ?? (isAbsolute(manifest.ptau.file) ? manifest.ptau.file : join(PROJECT_ROOT, manifest.ptau.file));
  if (!existsSync(path)) throw new Error(`phase-1 file not found: ${path} (pass --ptau)`);
  return path;
}

/** A path as the transcript shows it: relative to the project when inside it. */
export function shownPath(path: string): string {
  const inside = relative(PROJECT_ROOT, path);
  return inside.startsWith("..") || isAbsolute(inside) ? path : inside;
}

export interface TranscriptOptions {
  readonly zkey: string;
  readonly ptau: string;
  readonly verified: boolean;
  readonly vkeyHash: string;
  /** Where the final beacon's value comes from; kept from `previous` when the beacon is the same. */
  readonly beaconSource?: string;
  readonly previous?: SetupTranscript | null;
}

export async function makeSetupTranscript(options: TranscriptOptions): Promise<SetupTranscript> {
  const chain = await readPhase2Chain(options.zkey);
  const { version: snarkjsVersion } = await readArtifact(
    join(SNARKJS_DIR, "package.json"),
    z.object({ version: z.string() }),
  );
  const last = chain.contributions.at(-1);
  const previousBeacon = options.previous?.phase2.contributions.at(-1);
  const beacon = last?.beacon
    ? {
        ...last.beacon,
        source:
          options.beaconSource ??
          (previousBeacon?.hash === last.hash ? (options.previous?.phase2.beacon?.source ?? null) : null),
      }
    : null;
  return {
    format: 1,
    curve: "bn128",
    phase1: await describePhase1(options.ptau, shownPath(options.ptau)),
    phase2: { circuit_hash: chain.circuitHash, contributions: [...chain.contributions], beacon },
    verified: options.verified,
    verified_with: `snarkjs ${snarkjsVersion} zKey.verifyFromR1cs(circuit.r1cs, phase-1 file, circuit.zkey)`,
    vkey_hash: options.vkeyHash,
  };
}

/**
 * Installs a proving key into a compiled model directory after checking it: the chain must verify
 * against the directory's r1cs and phase-1 file, and must extend the installed chain (a key that
 * drops earlier contributions is refused). Rewrites the verification key, Solidity verifier, the
 * manifest's vkey_hash and setup.json.
 */
export async function installPhase2(options: {
  dir: string;
  zkey: string;
  ptau?: string;
  beaconSource?: string;
  logger?: SnarkLogger;
}): Promise<SetupTranscript> {
  const { dir, logger } = options;
  const manifest = await loadManifest(dir);
  const ptau = modelPtau(manifest, options.ptau);
  const installed = join(dir, manifest.files.zkey);
  const [before, after] = await Promise.all([readPhase2Chain(installed), readPhase2Chain(options.zkey)]);
  if (after.circuitHash !== before.circuitHash)
    throw new Error(
      `${options.zkey} was made for another circuit (circuit hash ${after.circuitHash.slice(0, 16)}…, the model's is ${before.circuitHash.slice(0, 16)}…)`,
    );
  const dropped = before.contributions.findIndex((c, i) => after.contributions[i]?.hash !== c.hash);
  if (dropped >= 0)
    throw new Error(
      `${options.zkey} does not extend the installed chain: contribution ${dropped + 1} ("${before.contributions[dropped].name}") is missing or changed`,
    );
  if (after.contributions.length === before.contributions.length)
    throw new Error(`${options.zkey} adds no contribution to the installed key`);
  if (!(await verifyPhase2({ r1cs: join(dir, manifest.files.r1cs), ptau, zkey: options.zkey, logger })))
    throw new Error(
      `${options.zkey} fails snarkjs zkey verification against ${manifest.files.r1cs} and ${shownPath(ptau)}; not installed`,
    );

  const { vkey, verifierSol } = await exportKeys(options.zkey, logger);
  const hash = vkeyHash(vkey);
  const previous = await readSetupTranscript(dir).catch(() => null);
  const transcript = await makeSetupTranscript({
    zkey: options.zkey,
    ptau,
    verified: true,
    vkeyHash: hash,
    beaconSource: options.beaconSource,
    previous,
  });
  if (options.zkey !== installed) await copyFile(options.zkey, installed);
  await writeFile(join(dir, manifest.files.vkey), `${JSON.stringify(vkey, null, 1)}\n`);
  await writeFile(join(dir, manifest.files.verifier_sol), verifierSol);
  // phase2_contribution: the one contribution older compilers recorded, superseded by setup.json
  const { phase2_contribution: _superseded, ...kept } = manifest as CircuitManifest & { phase2_contribution?: string };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify({ ...kept, vkey_hash: hash }, null, 2)}\n`);
  await writeSetupTranscript(dir, transcript);
  return transcript;
}
