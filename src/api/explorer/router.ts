/**
 * HTTP of the proof explorer (GET /explorer): one static page, one vanilla JS module and one style
 * sheet, no build step. The page routes on its path (the list, a proof, the models, the workers) and
 * reads everything from the JSON API under /v1, so loading it needs no API key; it sends one only
 * when the user types it. snarkjs's browser bundle and circomlibjs's Poseidon constants are served
 * beside it, so "Verify in your browser" checks the Groth16 proofs, decodes their public signals and
 * recomputes input commitments in the page, and checks the key against the chain the user names.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import express, { type Express, type Response, type Router } from "express";
import { z } from "zod";
import { PROJECT_ROOT } from "../../config/project.js";
import { mount, type RouteDoc } from "../route-doc.js";

/** The page's files. tsc does not copy them to dist/, so they are read from the source tree in both cases. */
export const EXPLORER_PAGE_DIR = join(PROJECT_ROOT, "src", "api", "explorer", "page");
/** snarkjs's self-contained browser build (a global `snarkjs`), wherever npm put the package. */
export const SNARKJS_BROWSER_BUNDLE = join(
  dirname(createRequire(import.meta.url).resolve("snarkjs")),
  "snarkjs.min.js",
);
/** circomlibjs's Poseidon round constants and matrices (t = 2..17), which the page's poseidon.js takes. */
export const POSEIDON_CONSTANTS = join(
  dirname(createRequire(import.meta.url).resolve("circomlibjs")),
  "..",
  "src",
  "poseidon_constants.json",
);

const Html = z.string().describe("the explorer page (HTML)");
/** Paths the page itself answers; each serves the same index.html, which routes on location.pathname. */
export const explorerRoutes: readonly RouteDoc[] = [
  {
    method: "get",
    path: "/explorer",
    summary: "The proof explorer: proofs, live, filterable and searchable",
    response: Html,
    contentType: "text/html",
  },
  {
    method: "get",
    path: "/explorer/proofs/{id}",
    summary: "The explorer's page of one proof, with in-browser verification",
    response: Html,
    contentType: "text/html",
  },
  {
    method: "get",
    path: "/explorer/models",
    summary: "The explorer's models view: circuit sizes, proof counts, proving times",
    response: Html,
    contentType: "text/html",
  },
  {
    method: "get",
    path: "/explorer/workers",
    summary: "The explorer's workers view: proofs per worker",
    response: Html,
    contentType: "text/html",
  },
];

/**
 * The page may load scripts only from here (snarkjs needs WebAssembly and its blob workers) and is
 * never framed. It talks to this origin, and to the JSON-RPC endpoint a user types to check a key
 * against the chain (any http(s) URL: the point is a node the server does not pick). Data from
 * records is written as text, never as markup.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' http: https:",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function pageHeaders(res: Response): void {
  res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
}

/** Mounts the explorer on `router` (outside /v1: no key needed). Unknown asset paths fall through to the app's 404. */
export function attachExplorerRouter(router: Router | Express): void {
  const mount: { use(handler: Router): unknown } = router;
  mount.use(explorerRouter());
}

function explorerRouter(): Router {
  const router = express.Router();
  // revalidated on each load (ETag), so a new gateway version is picked up at once and an unchanged one costs a 304
  const sendOptions = { headers: { "cache-control": "no-cache" } };
  for (const page of explorerRoutes) {
    mount(router, page, (_req, res, next) => {
      pageHeaders(res);
      res.sendFile(join(EXPLORER_PAGE_DIR, "index.html"), sendOptions, (err) => err && next(err));
    });
  }
  router.get("/explorer/assets/snarkjs.min.js", (_req, res, next) => {
    res.sendFile(SNARKJS_BROWSER_BUNDLE, sendOptions, (err) => err && next(err));
  });
  router.get("/explorer/assets/poseidon-constants.json", (_req, res, next) => {
    res.sendFile(POSEIDON_CONSTANTS, sendOptions, (err) => err && next(err));
  });
  router.use(
    "/explorer/assets",
    express.static(EXPLORER_PAGE_DIR, {
      index: false,
      redirect: false,
      dotfiles: "ignore",
      setHeaders: (res) => {
        res.setHeader("cache-control", "no-cache");
        res.setHeader("x-content-type-options", "nosniff");
      },
    }),
  );
  return router;
}
