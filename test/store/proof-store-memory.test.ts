import { MemoryProofStore } from "../../src/store/proof-store-memory.js";
import { runProofStoreConformance } from "./proof-store.conformance.js";

runProofStoreConformance(
  "memory",
  {
    async open(now) {
      return { store: new MemoryProofStore({ now }), async dispose() {} };
    },
  },
  { persistent: false },
);
