// The iden3 libraries ship JavaScript without types; these declare the parts proofgate uses.
declare module "snarkjs" {
  export const groth16: {
    setup(r1cs: string | object, ptau: string | object, zkey: string | object, logger?: unknown): Promise<unknown>;
    prove(
      zkey: string | object,
      witness: string | object,
      logger?: unknown,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    fullProve(
      input: object,
      wasm: string | object,
      zkey: string | object,
      logger?: unknown,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: object, publicSignals: readonly string[], proof: Groth16Proof, logger?: unknown): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: readonly string[]): Promise<string>;
  };
  export const zKey: {
    newZKey(r1cs: string | object, ptau: string | object, zkey: string | object, logger?: unknown): Promise<unknown>;
    contribute(
      zkeyOld: string | object,
      zkeyNew: string | object,
      name: string,
      entropy: string,
      logger?: unknown,
    ): Promise<Uint8Array>;
    beacon(
      zkeyOld: string | object,
      zkeyNew: string | object,
      name: string,
      beaconHash: string,
      numIterationsExp: number,
      logger?: unknown,
    ): Promise<Uint8Array>;
    exportVerificationKey(zkey: string | object, logger?: unknown): Promise<Record<string, unknown>>;
    exportSolidityVerifier(zkey: string | object, templates: { groth16: string }, logger?: unknown): Promise<string>;
    verifyFromR1cs(
      r1cs: string | object,
      ptau: string | object,
      zkey: string | object,
      logger?: unknown,
    ): Promise<boolean>;
  };
  export const powersOfTau: {
    newAccumulator(curve: unknown, power: number, file: string | object, logger?: unknown): Promise<unknown>;
    contribute(
      oldFile: string | object,
      newFile: string | object,
      name: string,
      entropy: string,
      logger?: unknown,
    ): Promise<Uint8Array>;
    beacon(
      oldFile: string | object,
      newFile: string | object,
      name: string,
      beaconHash: string,
      numIterationsExp: number,
      logger?: unknown,
    ): Promise<Uint8Array>;
    preparePhase2(oldFile: string | object, newFile: string | object, logger?: unknown): Promise<void>;
    verify(file: string | object, logger?: unknown): Promise<boolean>;
  };
  export const curves: { getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<unknown> };
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
}

declare module "circom_runtime" {
  export interface WitnessCalculator {
    calculateWitness(input: Record<string, unknown>, sanityCheck?: boolean): Promise<bigint[]>;
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  export function WitnessCalculatorBuilder(
    wasm: Uint8Array,
    options?: Record<string, unknown>,
  ): Promise<WitnessCalculator>;
}

declare module "r1csfile" {
  export interface R1csFile {
    nVars: number;
    nOutputs: number;
    nPubInputs: number;
    nPrvInputs: number;
    nConstraints: number;
    constraints: [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][];
    curve: { Fr: { toObject(x: unknown): bigint }; terminate(): Promise<void> };
  }
  export function readR1cs(
    file: string,
    loadConstraints: boolean,
    loadMap: boolean,
    singleThread: boolean,
  ): Promise<R1csFile>;
}

declare module "circomlibjs" {
  export function buildPoseidon(): Promise<{
    (inputs: readonly (bigint | number | string)[]): Uint8Array;
    F: { toObject(x: Uint8Array): bigint };
  }>;
}
