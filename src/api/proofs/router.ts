/** HTTP of GET /v1/proofs (with `?q=`), GET /v1/proofs/{id} (with `?wait=`), its verification_key and its circuit. */
import type { Router } from "express";
import { logIgnoredFields } from "../log-ignored-fields.js";
import { parseRequest } from "../request-validation.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { WireProof } from "../../core/proof-record.js";
import { ProofCircuit, ProofGetQuery, ProofList, ProofListQuery, VerificationKey } from "./protocol.js";
import type { ProofsService } from "./service.js";

const list: RouteDoc = {
  method: "get",
  path: "/v1/proofs",
  summary:
    "List proof records, newest first (?status=&model=&limit=&after=); ?q= finds a proof id, transaction hash, input commitment or public signal",
  query: ProofListQuery,
  response: ProofList,
};
const one: RouteDoc = {
  method: "get",
  path: "/v1/proofs/{id}",
  summary: "One proof record; ?wait=<seconds> (at most 60) holds the answer until it is final",
  query: ProofGetQuery,
  response: WireProof,
};
const verificationKey: RouteDoc = {
  method: "get",
  path: "/v1/proofs/{id}/verification_key",
  summary: "The snarkjs verification key of the proof's circuit",
  response: VerificationKey,
};
const circuit: RouteDoc = {
  method: "get",
  path: "/v1/proofs/{id}/circuit",
  summary: "The proof's circuit, with the record's public signals (or each step's) named and decoded",
  response: ProofCircuit,
};
export const proofsRoutes: readonly RouteDoc[] = [list, one, verificationKey, circuit];

export function attachProofsRouter(router: Router, service: ProofsService): void {
  mount(router, list, async (req, res) => {
    const query = parseRequest(ProofListQuery, req.query);
    logIgnoredFields(req, query.ignoredFields);
    res.json(await service.list(query.value));
  });

  mount(router, one, async (req, res) => {
    const query = parseRequest(ProofGetQuery, req.query);
    logIgnoredFields(req, query.ignoredFields);
    // A client that gives up on a long wait should not keep this request polling the store.
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const proof = await service.get(req.params.id, { waitSeconds: query.value.wait, signal: controller.signal });
    if (!controller.signal.aborted) res.json(proof);
  });

  mount(router, verificationKey, async (req, res) => {
    res.json(await service.verificationKey(req.params.id));
  });

  mount(router, circuit, async (req, res) => {
    res.json(await service.circuit(req.params.id));
  });
}
