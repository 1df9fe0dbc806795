/**
 * Solidity for `ProofgateRegistry`: the InferenceRegistry with the verifying keys of the shipped
 * circuits built in, so verify-and-record of those models runs the pairing check in the registry
 * itself (no cold call to a separate verifier). Generated from each circuit's verification key and
 * manifest; `make contracts` writes it to contracts/generated/ and a test checks it is current.
 */
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { BASE_FIELD_PRIME, FIELD_PRIME } from "../snark/field.js";

export interface BuiltInCircuit {
  readonly manifest: CircuitManifest;
  readonly vkey: Record<string, unknown>;
}

/** The registry's model kinds, as its `Kind` enum numbers them. */
export const MODEL_KIND = { "token-step": 1, classify: 2, tensor: 3 } as const;

export function modelKey(manifest: Pick<CircuitManifest, "vkey_hash">): string {
  return `0x${manifest.vkey_hash}`;
}

/** How the registry describes a circuit: kind, signal count, bits (label or token) and context. */
export function modelInfo(manifest: CircuitManifest): { kind: number; signals: number; bits: number; context: number } {
  const p = manifest.packing;
  return {
    kind: MODEL_KIND[manifest.kind],
    signals: manifest.public_signals.length,
    bits: p.kind === "token-step" ? p.tokenBits : p.kind === "classify" ? p.valueBits : 0,
    context: p.kind === "token-step" ? p.context : 0,
  };
}

/** Verifying key words in contracts/lib/Groth16.sol's layout. */
export function verifyingKeyWords(vkey: Record<string, unknown>): bigint[] {
  const g1 = (p: unknown) => (p as string[]).slice(0, 2).map(BigInt);
  const g2 = (p: unknown) => {
    const [x, y] = p as string[][];
    return [x[1], x[0], y[1], y[0]].map(BigInt);
  };
  return [
    ...g1(vkey.vk_alpha_1),
    ...g2(vkey.vk_beta_2),
    ...g2(vkey.vk_gamma_2),
    ...g2(vkey.vk_delta_2),
    ...(vkey.IC as unknown[]).flatMap(g1),
  ];
}

const KIND_NAME = { "token-step": "TokenStep", classify: "Classify", tensor: "Tensor" } as const;

/** The registry's packed model word: kind | signals << 8 | bits << 16 | context << 24. */
function packedInfo(manifest: CircuitManifest): bigint {
  const i = modelInfo(manifest);
  return BigInt(i.kind) | (BigInt(i.signals) << 8n) | (BigInt(i.bits) << 16n) | (BigInt(i.context) << 24n);
}

/**
 * One proof against constants, laid out as snarkjs's verifier does: vk_x = IC_0 + Σ s_j IC_j at p,
 * then the four pairs e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) at q.
 */
function singleProofAssembly(words: readonly bigint[], signals: number, indent: string): string[] {
  const at = (k: number) => words[k].toString();
  const ic = (j: number) => [at(14 + 2 * j), at(15 + 2 * j)];
  const lines = [
    "let p := mload(0x40)",
    "let q := add(p, 0xa0)",
    "valid := 1",
    `mstore(p, ${ic(0)[0]})`,
    `mstore(add(p, 0x20), ${ic(0)[1]})`,
  ];
  for (let j = 0; j < signals; j++) {
    lines.push(
      `let s${j} := calldataload(add(signals.offset, ${j * 32}))`,
      `valid := and(valid, lt(s${j}, ${R}))`,
      `mstore(add(p, 0x40), ${ic(j + 1)[0]})`,
      `mstore(add(p, 0x60), ${ic(j + 1)[1]})`,
      `mstore(add(p, 0x80), s${j})`,
      "valid := and(valid, staticcall(gas(), 0x07, add(p, 0x40), 0x60, add(p, 0x40), 0x40))",
      "valid := and(valid, staticcall(gas(), 0x06, p, 0x80, p, 0x40))",
    );
  }
  const constant = (offset: number, k: number) => `mstore(add(q, ${offset}), ${at(k)})`;
  lines.push(
    "mstore(q, calldataload(proof))",
    `mstore(add(q, 0x20), mod(sub(${Q}, calldataload(add(proof, 0x20))), ${Q}))`,
    "calldatacopy(add(q, 0x40), add(proof, 0x40), 0x80)",
    ...[0, 1, 2, 3, 4, 5].map((k) => constant(0xc0 + 32 * k, k)),
    "mstore(add(q, 0x180), mload(p))",
    "mstore(add(q, 0x1a0), mload(add(p, 0x20)))",
    ...[6, 7, 8, 9].map((k, i) => constant(0x1c0 + 32 * i, k)),
    "calldatacopy(add(q, 0x240), add(proof, 0xc0), 0x40)",
    ...[10, 11, 12, 13].map((k, i) => constant(0x280 + 32 * i, k)),
    "valid := and(valid, staticcall(gas(), 0x08, q, 0x300, q, 0x20))",
    "valid := and(valid, mload(q))",
  );
  return lines.map((l) => indent + l);
}

/** BN254's scalar and base field moduli. */
const R = FIELD_PRIME;
const Q = BASE_FIELD_PRIME;

export function builtInRegistrySource(circuits: readonly BuiltInCircuit[]): string {
  const register = circuits.map(({ manifest }) => {
    const info = modelInfo(manifest);
    return `        // ${manifest.model_id}\n        _register(${modelKey(manifest)}, Model(address(this), Kind.${KIND_NAME[manifest.kind]}, ${info.signals}, ${info.bits}, ${info.context}, bytes4(0)), ${manifest.model_id_field});`;
  });
  const verifyBranches = circuits.map(({ manifest, vkey }) => {
    const signals = manifest.public_signals.length;
    return [
      `        if (model == ${modelKey(manifest)}) {`,
      `            if (signals.length != ${signals}) revert WrongSignalCount(signals.length, ${signals});`,
      `            info = ${packedInfo(manifest)};`,
      '            assembly ("memory-safe") {',
      ...singleProofAssembly(verifyingKeyWords(vkey), signals, "                "),
      "            }",
      "            return (info, valid);",
      "        }",
    ].join("\n");
  });
  const keyBranches = circuits.map(({ manifest, vkey }) => {
    const words = verifyingKeyWords(vkey);
    return [
      `        if (model == ${modelKey(manifest)}) {`,
      `            vk = new uint256[](${words.length});`,
      '            assembly ("memory-safe") {',
      ...words.map((w, i) => `                mstore(add(vk, ${(i + 1) * 32}), ${w})`),
      "            }",
      `            return (vk, ${packedInfo(manifest)});`,
      "        }",
    ].join("\n");
  });
  return `// SPDX-License-Identifier: MIT
// Generated by proofgate (src/chain/registry-source.ts) from the shipped circuits' verification keys:
// do not edit; \`make contracts\` rewrites it.
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";

contract ProofgateRegistry is InferenceRegistry {
    constructor() {
${register.join("\n")}
    }

    function _builtInVerify(bytes32 model, uint256[8] calldata proof, uint256[] calldata signals)
        internal
        view
        override
        returns (uint256 info, bool valid)
    {
${verifyBranches.join("\n")}
    }

    function _builtInKey(bytes32 model) internal pure override returns (uint256[] memory vk, uint256 info) {
${keyBranches.join("\n")}
    }
}
`;
}
