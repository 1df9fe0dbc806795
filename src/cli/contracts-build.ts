/** `proofgate contracts build`: regenerates contracts/generated/, compiles every contract and writes the bindings (src/chain/contract-build.ts). */
import { relative } from "node:path";
import { buildContracts, CONTRACTS_ARTIFACT } from "../chain/contract-build.js";
import type { Verb } from "./verb.js";

export const contractsBuild: Verb = {
  path: ["contracts", "build"],
  usage: "contracts build",
  description:
    "Writes contracts/generated/ (the registry with the shipped circuits' verifying keys built in, the Poseidon hashers their commitments need), compiles contracts/ and each shipped snarkjs verifier with solc, writes artifacts/contracts/contracts.json, which serve deploys from, and the typed bindings in src/chain/bindings/.",
  options: {},
  async run() {
    const artifact = await buildContracts();
    for (const [name, c] of Object.entries(artifact.contracts))
      if (!name.includes(":")) console.log(`${name}: ${c.deployedSize} bytes deployed`);
    console.log(`solc ${artifact.solc} → ${relative(process.cwd(), CONTRACTS_ARTIFACT)}`);
    return 0;
  },
};
