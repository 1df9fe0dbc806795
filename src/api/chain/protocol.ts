/** Wire shape of GET /v1/chain: where this gateway's proofs go on-chain. */
import { z } from "zod";
import type { ChainServices } from "../gateway-services.js";

export const ChainInfo = z
  .object({
    object: z.literal("chain"),
    chain_id: z.int(),
    embedded: z.boolean().describe("an anvil chain spawned by the gateway"),
    account: z.string().describe("the address that submits proofs"),
    submit_policy: z.enum(["all", "requested"]),
    from_block: z.int(),
    contracts: z.object({
      registry: z.string(),
      oracle: z.string(),
      message_board: z.string().nullable(),
      completion_store: z.string().nullable(),
      hashers: z
        .record(z.string(), z.string())
        .describe("Poseidon hashers by number of inputs, fixed in the oracle at deployment"),
    }),
    timelock: z
      .object({
        address: z.string(),
        min_delay_s: z
          .int()
          .describe("how long every change of the registry's or the oracle's rules waits in public before it can run"),
        proposer: z.string().describe("the only address that may schedule, execute or cancel changes"),
      })
      .describe("the owner of the registry and the oracle"),
    models: z.record(
      z.string(),
      z.object({
        key: z.string().describe("the registry's key: the verification key hash"),
        verifier: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "Chain" });
export type ChainInfo = z.infer<typeof ChainInfo>;

export function toChainInfo(chain: ChainServices, policy: "all" | "requested"): ChainInfo {
  const d = chain.deployment;
  return {
    object: "chain",
    chain_id: d.chain_id,
    embedded: chain.connection.anvil !== null,
    account: chain.connection.address,
    submit_policy: policy,
    from_block: d.from_block,
    contracts: {
      registry: d.registry,
      oracle: d.oracle,
      message_board: d.message_board,
      completion_store: d.completion_store,
      hashers: d.hashers,
    },
    timelock: d.timelock,
    models: d.models,
  };
}
