/** HTTP of GET /v1/chain. */
import type { Router } from "express";
import { ProofgateError } from "../../core/errors.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { ChainInfo } from "./protocol.js";

const chain: RouteDoc = {
  method: "get",
  path: "/v1/chain",
  summary: "The chain proofs are submitted to: chain id, contracts, registered models (404 when PROOFGATE_SUBMIT=none)",
  response: ChainInfo,
};
export const chainRoutes: readonly RouteDoc[] = [chain];

export function attachChainRouter(router: Router, info: ChainInfo | null): void {
  mount(router, chain, (_req, res) => {
    if (!info) throw new ProofgateError("not_found", "This gateway submits nothing on-chain (PROOFGATE_SUBMIT=none)");
    res.json(info);
  });
}
