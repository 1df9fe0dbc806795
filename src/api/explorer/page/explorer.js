// @ts-check
// The proof explorer: a small single-page app over the gateway's JSON API (/v1). No framework, no
// build step. Everything a record holds is written with textContent (never as markup).

import { poseidonFromConstants } from "./poseidon.js";
import { recordChecks } from "./proof-claims.js";
import { registryEntry, registryVerifies } from "./registry-call.js";

/** @import { CircuitLayout, ProofRecord, ProofStatus, ProofStep, TextFeaturizer } from "./proof-claims.js" */
/** @import { Poseidon } from "./poseidon.js" */
/** @import { Groth16Proof, RegistryEntry } from "./registry-call.js" */
/** @import { Snarkjs, WithSnarkjs } from "../snarkjs.js" */

// The rest of the JSON API the page reads (src/api/*/protocol.ts), as far as it reads it.

/**
 * GET /v1/models's entries (Model) and GET /v1/proofs (ProofList).
 * @typedef {{ id: string, task: string, provable: boolean, summary: string }} ModelObject
 * @typedef {{ object: "list", data: ProofRecord[], has_more: boolean }} ProofList
 */

/**
 * What a circuit is (CircuitSummary), and what the server reads from a proof's signals (DecodedSignals).
 * @typedef {object} CircuitSummary
 * @property {string} model_id
 * @property {string} vkey_hash
 * @property {"token-step" | "classify" | "tensor"} kind
 * @property {number} constraints
 * @property {{ name: string, meaning: string }[]} public_signals
 * @typedef {{ kind: "token-step", context: number[], next_token: number, nonce: string, state_in: string, state_out: string }
 *   | { kind: "classify", label: number, claim: string }
 *   | { kind: "tensor", commitment: string, outputs: number[] }} ServerDecoded
 * @typedef {{ name: string, value: string }[] | null} NamedSignals
 */

/**
 * GET /v1/proofs/{id}/circuit (ProofCircuit).
 * @typedef {CircuitSummary & {
 *   object: "circuit",
 *   layout: CircuitLayout,
 *   featurizer: TextFeaturizer | null,
 *   signals: NamedSignals,
 *   decoded: ServerDecoded | null,
 *   steps: { index: number, signals: NamedSignals, decoded: ServerDecoded | null }[],
 * }} ProofCircuit
 */

/**
 * GET /v1/stats (Stats).
 * @typedef {{ total: number } & Record<ProofStatus, number>} ProofCounts
 * @typedef {{ model: string, provable: boolean, circuit: CircuitSummary | null, proofs: ProofCounts | null, median_prove_ms: number | null }} ModelStats
 * @typedef {{ prover: string, proofs: number, median_prove_ms: number | null }} WorkerStats
 * @typedef {{ id: string, model: string, created: number, total_ms: number }} LatencyPoint
 * @typedef {{ object: "stats", window: number, models: ModelStats[], workers: WorkerStats[], latency: LatencyPoint[] }} Stats
 */

/**
 * GET /v1/chain (Chain): where the registry is. `contracts` is null when the gateway has no chain.
 * @typedef {{ chain_id?: number, contracts: { registry: string } | null }} ChainInfo
 */

/**
 * GET /v1/models/{model}/setup (SetupTranscript), every part optional: the page shows whatever of it is there.
 * @typedef {{ name?: string, hash?: string }[]} Contributions
 * @typedef {object} SetupTranscript
 * @property {{ file?: string, power?: number, blake2b?: string, contributions?: Contributions }} [phase1]
 * @property {{ contributions?: Contributions, beacon?: { hash?: string, iterations?: number } }} [phase2]
 * @property {boolean} [verified]
 */

const API = "/v1";
const KEY_STORAGE = "proofgate.apiKey";
/** @type {ProofStatus[]} */
const STATUSES = ["generating", "queued", "proving", "proved", "submitted", "verified", "failed"];
/** What `?q=` accepts (the API says the same); anything else is not sent. */
const SEARCH_PATTERN = /^[0-9A-Za-z_-]{1,100}$/;
const PAGE_SIZE = 20;
const LIST_POLL_MS = 2000;
const STATS_POLL_MS = 5000;
/** A proof page long-polls its record with ?wait= while it is not final. */
const WAIT_SECONDS = 20;
const MODEL_COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];

const app = /** @type {HTMLElement} */ (document.getElementById("app"));

// ---------- DOM helpers ----------

/**
 * Attributes of h and s: on* are listeners, dataset goes to data-*, text is the textContent; null,
 * undefined and false are left out, true is an empty attribute.
 * @typedef {{ [name: string]: string | number | boolean | null | undefined | Record<string, string> | ((event: Event) => unknown) }} Attrs
 */

/**
 * A child of h and s: a node, text (anything else is written as text, never as markup), nothing
 * (null, undefined, false), or lists of them (append flattens any depth; the page nests two at most,
 * and a JSDoc type cannot be recursive through an array).
 * @typedef {Node | string | number | boolean | null | undefined} Leaf
 * @typedef {Leaf | readonly (Leaf | readonly Leaf[])[]} Child
 */

/**
 * h("a", { href, class, onclick, dataset: {…} }, child, …): children are nodes or text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
/**
 * h's SVG twin: the same attributes and children, in the SVG namespace.
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElementTagNameMap[K]}
 */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * @param {HTMLElement | SVGElement} el
 * @param {Attrs} attrs
 */
function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

/**
 * @param {Element} el
 * @param {readonly Child[]} children
 */
function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * A table head; a label ending in "#" is a number column (right-aligned), the "#" dropped.
 * @param {readonly string[]} labels
 */
function thead(labels) {
  return h(
    "thead",
    {},
    h(
      "tr",
      {},
      labels.map((t) => (t.endsWith("#") ? h("th", { class: "num", text: t.slice(0, -1) }) : h("th", { text: t }))),
    ),
  );
}

/**
 * @param {Element} el
 * @param {...Child} children what it holds now
 */
function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// ---------- formatting ----------

/** @param {unknown} ms @returns {string} */
function fmtMs(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  if (ms === 0) return "0";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** @param {number} unixSeconds */
function fmtTime(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  /** @param {number} n */
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** @param {number} unixSeconds */
function fmtAgo(unixSeconds) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** @param {unknown} n @returns {string} */
function fmtInt(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : n == null ? "—" : String(n);
}

/**
 * A long value cut in the middle; the whole of it in the tooltip.
 * @param {unknown} value
 */
function short(value, head = 10, tail = 8) {
  const text = String(value);
  const el = h("span", { class: "mono hash", title: text });
  el.textContent = text.length > head + tail + 1 ? `${text.slice(0, head)}…${text.slice(-tail)}` : text;
  return el;
}

/** @param {ProofStatus} status */
function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, dataset: { status }, text: status });
}

/**
 * JSON with arrays of plain values kept on one line (a 1024-bit sample stays readable).
 * @param {unknown} value
 * @returns {string}
 */
function prettyJson(value, indent = "") {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object"))
      return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(",\n")}\n${indent}]`;
  }
  const object = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(object);
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${prettyJson(object[k], inner)}`).join(",\n")}\n${indent}}`;
}

/**
 * sha256 of the JSON with sorted keys: how the gateway hashes a verification key (vkey_hash).
 * @param {unknown} v
 * @returns {unknown}
 */
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(/** @type {Record<string, unknown>} */ (v)[k])]),
    );
  return v;
}

/** @param {string} text */
async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------- API ----------

/** The key typed in this page (when storage is refused), else the one kept in localStorage. */
/** @type {string | null} */
let typedKey = null;
function apiKey() {
  if (typedKey !== null) return typedKey;
  try {
    return localStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

/**
 * The API's error envelope (src/api/error-envelope.ts), as far as the page reads it.
 * @typedef {{ error?: { message?: string, code?: string | null, param?: string | null } }} ErrorEnvelope
 */

class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ErrorEnvelope | null} body
   */
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? null;
    this.param = body?.error?.param ?? null;
  }
}

/**
 * GET /v1 + path: its JSON (each caller says what it expects), or an ApiError.
 * @param {string} path
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<unknown>}
 */
async function api(path, { signal } = {}) {
  const key = apiKey();
  const res = await fetch(API + path, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    signal,
    cache: "no-store",
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/**
 * What went wrong, in words: a thrown error's message, else the thrown value as text.
 * @param {unknown} err
 */
function errorText(err) {
  return /** @type {{ message?: string } | null | undefined} */ (err)?.message ?? String(err);
}

/**
 * A notice of a failed request; null for one this page aborted.
 * @param {unknown} err
 */
function errorNotice(err) {
  if (/** @type {{ name?: string } | null | undefined} */ (err)?.name === "AbortError") return null;
  const auth = err instanceof ApiError && err.status === 401;
  const noProofs =
    err instanceof ApiError && err.status === 404 && err.param === null && /\/v1\/proofs/.test(err.message);
  return h(
    "p",
    { class: "notice error", role: "alert" },
    auth ? "This gateway needs an API key: type it in the field at the top right. " : "",
    noProofs ? "This gateway proves nothing (it runs without a proof store), so it has no proofs to show. " : "",
    errorText(err),
  );
}

/** Models the gateway serves ({id, task, provable, …}); cached for the session. */
/** @type {Promise<ModelObject[]> | null} */
let modelsCache = null;
/** @param {AbortSignal} signal */
async function servedModels(signal) {
  modelsCache ??= api("/models", { signal })
    .then((list) => /** @type {{ data: ModelObject[] }} */ (list).data)
    .catch((err) => {
      modelsCache = null;
      throw err;
    });
  return modelsCache;
}

// ---------- routing ----------

let pageController = new AbortController();
/** @type {Set<number>} */
const timers = new Set();

/**
 * fn after ms, unless the page is left before.
 * @param {() => void} fn
 * @param {number} ms
 */
function later(fn, ms) {
  const id = setTimeout(() => {
    timers.delete(id);
    fn();
  }, ms);
  timers.add(id);
}

/** @param {string | null} url */
function navigate(url) {
  history.pushState(null, "", url);
  void route();
}

function route() {
  pageController.abort();
  pageController = new AbortController();
  for (const id of timers) clearTimeout(id);
  timers.clear();
  const signal = pageController.signal;
  const path = location.pathname.replace(/\/+$/, "");
  const proof = path.match(/^\/explorer\/proofs\/([^/]+)$/);
  const section = proof
    ? "proofs"
    : path === "/explorer/models"
      ? "models"
      : path === "/explorer/workers"
        ? "workers"
        : "proofs";
  for (const a of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-nav]")))
    a.classList.toggle("active", a.dataset.nav === section);
  window.scrollTo(0, 0);
  if (proof) return proofPage(decodeURIComponent(proof[1]), signal);
  if (section === "models") return modelsPage(signal);
  if (section === "workers") return workersPage(signal);
  return listPage(signal);
}

document.addEventListener("click", (event) => {
  const a = /** @type {Element} */ (event.target).closest?.("a[data-link]");
  if (
    !a ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

/**
 * A link this page follows itself (no reload).
 * @param {string} href
 * @param {...Child} children
 */
function link(href, ...children) {
  return h("a", { href, dataset: { link: "" } }, ...children);
}

/** @param {string} id */
function proofHref(id) {
  return `/explorer/proofs/${encodeURIComponent(id)}`;
}

// ---------- the list ----------

/** Rows already shown, by id → status, so a status that moves is flashed. */
/** @type {Map<string, ProofStatus>} */
const seenStatus = new Map();

/** @param {AbortSignal} signal */
async function listPage(signal) {
  const params = new URLSearchParams(location.search);
  const state = {
    model: params.get("model") ?? "",
    status: params.get("status") ?? "",
    q: params.get("q") ?? "",
    // cursors of the pages before this one; the current page starts after the last of them
    /** @type {string[]} */
    cursors: (params.get("after") ?? "").split(",").filter(Boolean),
  };
  document.title = "Proofs · proofgate explorer";

  const search = h("input", {
    id: "search",
    type: "search",
    placeholder: "Proof id, transaction hash or input commitment",
    value: state.q,
    spellcheck: "false",
    autocomplete: "off",
  });
  const modelSelect = h(
    "select",
    { id: "filter-model", "aria-label": "Model" },
    h("option", { value: "", text: "All models" }),
  );
  const statusSelect = h(
    "select",
    { id: "filter-status", "aria-label": "Status" },
    h("option", { value: "", text: "All statuses" }),
    STATUSES.map((st) => h("option", { value: st, text: st })),
  );
  statusSelect.value = state.status;
  const hint = h("span", { class: "hint" });
  const live = h(
    "span",
    { class: "live", title: "The list refreshes every 2 s" },
    h("span", { class: "live-dot" }),
    "live",
  );
  const tbody = h("tbody", { id: "proof-rows" });
  const newer = h("button", { type: "button", id: "page-newer", text: "← Newer" });
  const older = h("button", { type: "button", id: "page-older", text: "Older →" });
  const pageInfo = h("span", { class: "muted" });
  const notice = h("div");
  const card = h(
    "div",
    { class: "card table-card" },
    h(
      "table",
      { class: "proofs" },
      thead(["Proof", "Model", "Status", "Kind", "Created", "Prove#", "Total#", "On-chain"]),
      tbody,
    ),
  );

  clear(
    app,
    h("div", { class: "page-head" }, h("h1", { text: "Proofs" }), live),
    h(
      "form",
      {
        class: "filters",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          apply();
        },
      },
      search,
      modelSelect,
      statusSelect,
      h("button", { type: "submit", class: "primary", text: "Search" }),
      h("button", {
        type: "button",
        text: "Clear",
        onclick: () => {
          search.value = "";
          modelSelect.value = "";
          statusSelect.value = "";
          apply();
        },
      }),
      hint,
    ),
    notice,
    card,
    h("div", { class: "pager" }, newer, pageInfo, older),
  );

  servedModels(signal)
    .then((models) => {
      for (const m of models) modelSelect.append(h("option", { value: m.id, text: m.id }));
      if (state.model && !models.some((m) => m.id === state.model))
        modelSelect.append(h("option", { value: state.model, text: state.model }));
      modelSelect.value = state.model;
    })
    .catch(() => {
      if (state.model) modelSelect.append(h("option", { value: state.model, text: state.model }));
      modelSelect.value = state.model;
    });

  function syncUrl() {
    const p = new URLSearchParams();
    if (state.model) p.set("model", state.model);
    if (state.status) p.set("status", state.status);
    if (state.q) p.set("q", state.q);
    if (state.cursors.length) p.set("after", state.cursors.join(","));
    const url = `/explorer${p.toString() ? `?${p}` : ""}`;
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
  }

  function apply() {
    const q = search.value.trim();
    if (q && !SEARCH_PATTERN.test(q)) {
      hint.textContent =
        "Search takes a proof id, a 0x transaction hash, or a decimal commitment (letters, digits, _ and -).";
      return;
    }
    hint.textContent = "";
    Object.assign(state, { model: modelSelect.value, status: statusSelect.value, q, cursors: [] });
    void refresh(true);
  }
  modelSelect.addEventListener("change", apply);
  statusSelect.addEventListener("change", apply);
  /** @type {number | undefined} */
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => !signal.aborted && apply(), 400);
  });
  newer.addEventListener("click", () => {
    state.cursors.pop();
    void refresh(true);
  });
  older.addEventListener("click", () => {
    const last = /** @type {HTMLElement | null} */ (tbody.lastElementChild)?.dataset.id;
    if (!last) return;
    state.cursors.push(last);
    void refresh(true);
  });

  let generation = 0;
  /** @param {boolean} reset the rows shown are dropped, not updated in place */
  async function refresh(reset) {
    const mine = ++generation;
    syncUrl();
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.model) query.set("model", state.model);
    if (state.status) query.set("status", state.status);
    if (state.q) query.set("q", state.q);
    const after = state.cursors.at(-1);
    if (after) query.set("after", after);
    try {
      const page = /** @type {ProofList} */ (await api(`/proofs?${query}`, { signal }));
      if (mine !== generation || signal.aborted) return;
      renderRows(page.data, reset);
      notice.replaceChildren();
      newer.disabled = state.cursors.length === 0;
      older.disabled = !page.has_more;
      pageInfo.textContent = `page ${state.cursors.length + 1}`;
      card.dataset.loaded = "true";
    } catch (err) {
      if (mine !== generation || signal.aborted) return;
      // a cursor that no longer exists (a filter changed under it): start over from the newest
      if (err instanceof ApiError && err.param === "after" && state.cursors.length) {
        state.cursors = [];
        return refresh(true);
      }
      notice.replaceChildren(errorNotice(err) ?? "");
    }
    // every 2 s while a row shown is still moving, slower when all are final or the tab is hidden
    const moving = [.../** @type {NodeListOf<HTMLTableRowElement>} */ (tbody.querySelectorAll("tr[data-status]"))].some(
      (tr) => tr.dataset.final !== "true",
    );
    if (mine === generation && !signal.aborted)
      later(() => refresh(false), document.hidden ? 5 * LIST_POLL_MS : moving ? LIST_POLL_MS : 3 * LIST_POLL_MS);
  }

  /**
   * @param {ProofRecord[]} proofs
   * @param {boolean} reset
   */
  function renderRows(proofs, reset) {
    if (reset) tbody.replaceChildren();
    if (proofs.length === 0) {
      const filtered = state.model || state.status || state.q;
      tbody.replaceChildren(
        h(
          "tr",
          { class: "empty" },
          h("td", {
            colspan: "8",
            text: filtered ? "No proof matches." : "No proofs yet: ask a provable model something.",
          }),
        ),
      );
      return;
    }
    tbody.replaceChildren(
      ...proofs.map((p) => {
        const before = seenStatus.get(p.id);
        seenStatus.set(p.id, p.status);
        const moved = before !== undefined && before !== p.status;
        const kind = p.steps?.length
          ? `generation · ${p.steps.length} step${p.steps.length === 1 ? "" : "s"}`
          : (p.request?.kind ?? "inference");
        return h(
          "tr",
          {
            dataset: { id: p.id, model: p.model, status: p.status, final: String(isFinal(p)) },
            class: moved ? "flash" : null,
          },
          h("td", {}, link(proofHref(p.id), h("span", { class: "mono", text: p.id }))),
          h("td", { text: p.model }),
          h("td", {}, statusBadge(p.status)),
          h("td", { class: "muted", text: kind }),
          h("td", { title: fmtTime(p.created), text: fmtAgo(p.created) }),
          h("td", { class: "num", text: fmtMs(p.timings?.prove) }),
          h("td", { class: "num", text: fmtMs(p.timings?.total) }),
          h("td", {}, p.chain ? short(p.chain.tx_hash, 8, 6) : h("span", { class: "muted", text: "—" })),
        );
      }),
    );
  }

  void refresh(true);
}

// ---------- a proof ----------

/** @param {ProofRecord} p */
function isFinal(p) {
  return p.status === "verified" || p.status === "failed" || (p.status === "proved" && p.request?.submit !== true);
}

/** @param {ProofRecord} p */
function hasProof(p) {
  return p.steps?.length ? p.steps.every((st) => st.proof && st.public_signals) : Boolean(p.proof && p.public_signals);
}

/**
 * @param {string} id
 * @param {AbortSignal} signal
 */
async function proofPage(id, signal) {
  document.title = `${id} · proofgate explorer`;
  clear(app, h("p", { class: "muted", text: "Loading…" }));
  /** @type {ProofRecord} */
  let record;
  try {
    record = /** @type {ProofRecord} */ (await api(`/proofs/${encodeURIComponent(id)}`, { signal }));
  } catch (err) {
    if (!signal.aborted) clear(app, link("/explorer", "← All proofs"), errorNotice(err));
    return;
  }
  /** @type {ProofCircuit | null} */
  let circuit = null;
  /** @type {string | null} */
  let circuitFor = null;
  while (!signal.aborted) {
    // the circuit's view of the signals changes when the record gets them; fetched again only then
    const key = `${record.status}:${record.steps?.map((st) => st.status).join(",")}`;
    if (circuitFor !== key) {
      circuitFor = key;
      circuit = /** @type {ProofCircuit | null} */ (
        await api(`/proofs/${encodeURIComponent(id)}/circuit`, { signal }).catch(() => null)
      );
      if (signal.aborted) return;
    }
    renderProof(record, circuit);
    if (isFinal(record)) return;
    try {
      const next = /** @type {ProofRecord} */ (
        await api(`/proofs/${encodeURIComponent(id)}?wait=${WAIT_SECONDS}`, { signal })
      );
      record = next;
    } catch {
      if (signal.aborted) return;
      // the gateway went away for a moment: try again shortly
      await /** @type {Promise<void>} */ (new Promise((resolve) => later(resolve, 2000)));
    }
  }
}

/**
 * @param {ProofRecord} p
 * @param {ProofCircuit | null} circuit
 */
function renderProof(p, circuit) {
  const steps = [...(p.steps ?? [])].sort((a, b) => a.index - b.index);
  const generation = steps.length > 0;
  const meanings = circuit?.public_signals ?? null;
  clear(
    app,
    h("div", { class: "crumbs" }, link("/explorer", "← All proofs")),
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Proof ", h("span", { class: "mono", id: "proof-id", text: p.id })),
      h("span", { id: "proof-status" }, statusBadge(p.status)),
      isFinal(p)
        ? null
        : h("span", { class: "live", title: "Updates as the status moves" }, h("span", { class: "live-dot" }), "live"),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Model", link(`/explorer/models#${encodeURIComponent(p.model)}`, p.model)),
      fact(
        "Kind",
        generation
          ? `generation · ${steps.length} step${steps.length === 1 ? "" : "s"}`
          : (p.request?.kind ?? "inference"),
      ),
      fact("Endpoint", p.request?.endpoint ? h("span", { class: "mono", text: p.request.endpoint }) : "—"),
      fact("Created", h("span", { title: fmtAgo(p.created), text: fmtTime(p.created) })),
      fact("Prover", p.prover ? h("span", { class: "mono", text: p.prover }) : "—"),
      fact("Total", fmtMs(p.timings?.total)),
    ),
    p.status === "failed" && p.error
      ? h("p", { class: "notice error", role: "alert" }, h("strong", { text: "Failed: " }), p.error)
      : null,
    verifyCard(p, steps),
    card("Status timeline", timeline(p, steps)),
    h(
      "div",
      { class: "two" },
      card("Request, as committed", h("pre", { class: "json", id: "request-json", text: prettyJson(p.request) })),
      card("Output, as committed", h("pre", { class: "json", id: "output-json", text: prettyJson(p.output) })),
    ),
    generation ? card("Trace", trace(p, steps, circuit)) : null,
    card(generation ? "Public signals (each step)" : "Public signals", publicSignals(p, circuit, meanings, generation)),
    card("Model and verification key", modelFacts(p, circuit)),
    card("Trusted setup", setupSlot(p.model, "setup")),
    card("On-chain record", onChain(p)),
    card("Downloads", downloads(p, steps, circuit)),
  );
}

/**
 * @param {string} title
 * @param {...Child} children
 */
function card(title, ...children) {
  return h("section", { class: "card" }, h("h2", { text: title }), ...children);
}

/**
 * @param {string} label
 * @param {Child} value
 */
function fact(label, value) {
  return h("div", {}, h("dt", { text: label }), h("dd", {}, value));
}

/**
 * The stages a record goes through, the time spent in each, and where it is now.
 * @param {ProofRecord} p
 * @param {ProofStep[]} steps
 */
function timeline(p, steps) {
  const t = p.timings ?? {};
  const summed = steps.length > 1 ? ` (sum over ${steps.length} steps, proven in parallel)` : "";
  const stages = [
    { key: "queued", label: "Queued", ms: t.queued, note: "waiting for a worker" },
    { key: "witness", label: "Witness", ms: t.witness, note: `computing the circuit's signals${summed}` },
    { key: "prove", label: "Prove", ms: t.prove, note: `Groth16 proof${summed}` },
    { key: "verify", label: "Verify", ms: t.verify, note: `the worker checks its own proof${summed}` },
    { key: "submit", label: "Submit", ms: t.submit, note: "sent on-chain and mined" },
  ];
  const timed = stages.filter((st) => typeof st.ms === "number");
  const sum = timed.reduce((a, st) => a + st.ms, 0);
  const bar = h(
    "div",
    { class: "stagebar", role: "img", "aria-label": "time per stage" },
    timed.map((st) => {
      const seg = h("span", { class: `seg seg-${st.key}`, title: `${st.label}: ${fmtMs(st.ms)}` });
      seg.style.flexGrow = String(Math.max(st.ms, sum / 200));
      return seg;
    }),
  );
  const milestones = [
    // a record exists before its answer's first byte: shown as a stage only while it is generated
    ...(p.status === "generating"
      ? [{ status: "generating", label: "Generating", at: "the answer is still being generated" }]
      : []),
    { status: "queued", label: "Queued", at: fmtTime(p.created) },
    {
      status: "proving",
      label: "Proving",
      at: [t.witness, t.prove, t.verify].some((v) => typeof v === "number")
        ? `witness ${fmtMs(t.witness)} · prove ${fmtMs(t.prove)} · verify ${fmtMs(t.verify)}`
        : "",
    },
    { status: "proved", label: "Proved", at: typeof t.total === "number" ? `${fmtMs(t.total)} after the request` : "" },
  ];
  if (p.request?.submit === true || p.chain || ["submitted", "verified"].includes(p.status)) {
    milestones.push(
      { status: "submitted", label: "Submitted", at: p.chain ? "transaction sent" : "" },
      {
        status: "verified",
        label: "Verified on-chain",
        at: typeof t.submit === "number" ? `${fmtMs(t.submit)} to submit and mine` : "",
      },
    );
  }
  const reached = p.status === "failed" ? -1 : milestones.findIndex((m) => m.status === p.status);
  const failedAt = p.status === "failed" ? failedStage(p) : -1;
  return h(
    "div",
    { class: "timeline", id: "timeline" },
    h(
      "ol",
      { class: "milestones" },
      milestones.map((m, i) => {
        const state =
          p.status === "failed"
            ? i < failedAt
              ? "done"
              : i === failedAt
                ? "failed"
                : "pending"
            : i < reached
              ? "done"
              : i === reached
                ? isFinal(p)
                  ? "done"
                  : "current"
                : "pending";
        return h(
          "li",
          { class: `ms ms-${state}` },
          h("span", { class: "ms-dot" }),
          h("span", { class: "ms-label", text: m.label }),
          h("span", {
            class: "ms-at",
            text: state === "pending" ? "" : m.at || (state === "current" ? "in progress…" : ""),
          }),
        );
      }),
      p.status === "failed"
        ? h(
            "li",
            { class: "ms ms-failed" },
            h("span", { class: "ms-dot" }),
            h("span", { class: "ms-label", text: "Failed" }),
            h("span", { class: "ms-at", text: p.error ?? "" }),
          )
        : null,
    ),
    timed.length ? bar : null,
    timed.length
      ? h(
          "table",
          { class: "stages" },
          h(
            "tbody",
            {},
            timed.map((st) =>
              h(
                "tr",
                {},
                h("td", {}, h("span", { class: `swatch seg-${st.key}` }), st.label),
                h("td", { class: "num", text: fmtMs(st.ms) }),
                h("td", { class: "muted", text: st.note }),
              ),
            ),
            typeof t.total === "number"
              ? h(
                  "tr",
                  { class: "total" },
                  h("td", { text: "Total" }),
                  h("td", { class: "num", text: fmtMs(t.total) }),
                  h("td", { class: "muted", text: "from the request to proved" }),
                )
              : null,
          ),
        )
      : h("p", { class: "muted", text: "No stage has finished yet." }),
  );
}

/**
 * The milestone index a failed record stopped at: before a proof, or on the way on-chain.
 * @param {ProofRecord} p
 */
function failedStage(p) {
  if (p.chain) return 3;
  if (hasProof(p)) return 2;
  return typeof p.timings?.witness === "number" ? 1 : 0;
}

/**
 * A completion's steps, one table per choice, each step's state chained to the previous one's.
 * @param {ProofRecord} p
 * @param {ProofStep[]} steps
 * @param {ProofCircuit | null} circuit
 */
function trace(p, steps, circuit) {
  const decodedByIndex = new Map((circuit?.steps ?? []).map((st) => [st.index, st.decoded]));
  /** @type {Map<number, ProofStep[]>} */
  const choices = new Map();
  for (const st of steps) {
    const choice = st.output?.choice ?? 0;
    if (!choices.has(choice)) choices.set(choice, []);
    /** @type {ProofStep[]} */ (choices.get(choice)).push(st);
  }
  const outputs = p.output?.choices ?? [];
  return h(
    "div",
    { id: "trace" },
    h("p", {
      class: "muted",
      text: "Each step proves one token. Its first public signal (state in) must equal the previous step's second (state out): the chain of hashes that ties the tokens of a choice together. The first state commits to the prompt and the nonce.",
    }),
    [...choices.entries()].map(([choice, list]) => {
      list.sort((a, b) => (a.output?.position ?? a.index) - (b.output?.position ?? b.index));
      const out = outputs.find((c) => c.index === choice);
      return h(
        "div",
        { class: "choice" },
        h(
          "h3",
          {},
          `Choice ${choice}`,
          out
            ? h("span", { class: "muted" }, ` · prompt ${out.prompt_index ?? 0} · ${out.finish_reason ?? ""} · `)
            : null,
          out?.text !== undefined ? h("q", { class: "gen-text", text: out.text }) : null,
        ),
        h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "trace" },
            thead(["Step#", "Pos#", "Token", "Status", "State in", "Chain", "State out", "Prove#", "Prover"]),
            h(
              "tbody",
              {},
              list.map((st, k) => {
                const [stateIn, stateOut] = st.public_signals ?? [];
                const prev = k > 0 ? list[k - 1].public_signals?.[1] : undefined;
                const linked = k === 0 ? null : stateIn !== undefined && prev !== undefined ? stateIn === prev : null;
                const decoded = decodedByIndex.get(st.index);
                const tokenNote =
                  decoded?.kind === "token-step" && decoded.next_token !== st.output?.token
                    ? ` (signals say ${decoded.next_token})`
                    : "";
                return h(
                  "tr",
                  { dataset: { step: String(st.index) } },
                  h("td", { class: "num", text: st.index }),
                  h("td", { class: "num", text: st.output?.position ?? "—" }),
                  h("td", { class: "mono", text: `${st.output?.token ?? "—"}${tokenNote}` }),
                  h("td", {}, statusBadge(st.status)),
                  h("td", {}, stateIn !== undefined ? short(stateIn) : "—"),
                  h("td", {
                    class: `link ${linked === true ? "ok" : linked === false ? "bad" : ""}`,
                    title:
                      linked === null
                        ? k === 0
                          ? "the input commitment: prompt and nonce"
                          : ""
                        : linked
                          ? "equals the previous step's state out"
                          : "does not equal the previous step's state out",
                    text: k === 0 ? "start" : linked === true ? "✓ linked" : linked === false ? "✗ broken" : "…",
                  }),
                  h("td", {}, stateOut !== undefined ? short(stateOut) : "—"),
                  h("td", { class: "num", text: fmtMs(st.timings?.prove) }),
                  h("td", { class: "mono muted", text: st.prover ?? "—" }),
                );
              }),
            ),
          ),
        ),
      );
    }),
  );
}

/** @param {ServerDecoded | null | undefined} decoded */
function decodedText(decoded) {
  if (!decoded) return null;
  if (decoded.kind === "classify") return `label ${decoded.label}`;
  if (decoded.kind === "token-step")
    return `next token ${decoded.next_token} · context [${decoded.context.join(", ")}] · nonce ${decoded.nonce}`;
  if (decoded.kind === "tensor") return `outputs [${decoded.outputs.join(", ")}]`;
  return JSON.stringify(decoded);
}

/**
 * The record's public signals, each named and explained by its circuit (GET /v1/proofs/{id}/circuit).
 * @param {ProofRecord} p
 * @param {ProofCircuit | null} circuit
 * @param {CircuitSummary["public_signals"] | null} meanings
 * @param {boolean} generation
 */
function publicSignals(p, circuit, meanings, generation) {
  /** @param {number} i */
  const explain = (i) => meanings?.[i] ?? null;
  if (generation) {
    return h(
      "div",
      { id: "public-signals" },
      h("p", {
        class: "muted",
        text: "A generation has no signals of its own: every step has its circuit's, listed in the trace. What they mean:",
      }),
      meanings
        ? h(
            "table",
            { class: "signals" },
            h(
              "tbody",
              {},
              meanings.map((m, i) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "num", text: i }),
                  h("td", { class: "mono", text: m.name }),
                  h("td", { text: m.meaning }),
                ),
              ),
            ),
          )
        : h("p", { class: "muted", text: "The circuit's description is not available from this gateway." }),
    );
  }
  if (!p.public_signals)
    return h("p", { class: "muted", id: "public-signals", text: "None yet: the record has no proof." });
  const decoded = decodedText(circuit?.decoded);
  return h(
    "div",
    { id: "public-signals" },
    h(
      "table",
      { class: "signals" },
      thead(["##", "Name", "Value", "Meaning"]),
      h(
        "tbody",
        {},
        p.public_signals.map((value, i) =>
          h(
            "tr",
            {},
            h("td", { class: "num", text: i }),
            h("td", { class: "mono", text: explain(i)?.name ?? `signal ${i}` }),
            h("td", { class: "mono value", text: value }),
            h("td", { text: explain(i)?.meaning ?? "—" }),
          ),
        ),
      ),
    ),
    decoded
      ? h("p", {}, h("strong", { text: "Decoded: " }), h("span", { class: "mono", id: "decoded", text: decoded }))
      : null,
  );
}

/**
 * @param {ProofRecord} p
 * @param {ProofCircuit | null} circuit
 */
function modelFacts(p, circuit) {
  return h(
    "dl",
    { class: "facts wide" },
    fact("Model", p.model),
    fact("Circuit (model id)", p.request?.circuit ? h("span", { class: "mono", text: p.request.circuit }) : "—"),
    fact("Circuit kind", circuit?.kind ?? "—"),
    fact("Constraints", circuit ? fmtInt(circuit.constraints) : "—"),
    fact("Verification key hash", p.vkey_hash ? h("span", { class: "mono", id: "vkey-hash", text: p.vkey_hash }) : "—"),
  );
}

/** @param {ProofRecord} p */
function onChain(p) {
  if (!p.chain) {
    const why =
      p.request?.submit === true
        ? "Not on-chain yet: it is submitted once proved."
        : "Not submitted on-chain: this gateway or this request does not send it there.";
    return h("p", { class: "muted", id: "chain", text: why });
  }
  const c = p.chain;
  return h(
    "dl",
    { class: "facts wide", id: "chain" },
    fact("Chain id", String(c.chain_id)),
    fact("Contract", h("span", { class: "mono", text: c.contract })),
    fact("Transaction", h("span", { class: "mono", text: c.tx_hash })),
    c.submitted_by
      ? fact(
          "Sent by",
          h("span", {
            class: "mono",
            text: c.submitted_by,
            title:
              "the sender of the transaction that recorded it: this gateway, or anyone who submitted the same proof first",
          }),
        )
      : null,
    fact("Block", c.block_number ?? "pending"),
    fact("Gas used", c.gas_used ? fmtInt(Number(c.gas_used)) : "pending"),
    c.input_commitment ? fact("Input commitment", h("span", { class: "mono", text: c.input_commitment })) : null,
  );
}

/**
 * Saves value as a JSON file.
 * @param {string} name
 * @param {unknown} value
 */
function downloadJson(name, value) {
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(value, null, 2)}\n`], { type: "application/json" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A single inference as `proofgate verify` reads it (src/prover/prove.ts's ProofFile), so it can be checked offline, claims and all.
 * @param {ProofRecord} p
 * @param {ProofCircuit} circuit
 */
function verifiableFile(p, circuit) {
  const r = p.request ?? {};
  const output = circuit.layout.output === "logits" ? r.served?.logits : r.served?.argmax;
  const binding =
    r.content_hash !== undefined && r.salt !== undefined
      ? { request: { content_hash: r.content_hash, salt: r.salt } }
      : {};
  return {
    object: "proofgate.proof",
    model_id: r.circuit,
    vkey_hash: p.vkey_hash,
    kind: circuit.kind,
    input: r.sample,
    nonce: r.nonce,
    output,
    public_signals: p.public_signals,
    proof: p.proof,
    ...binding,
  };
}

/**
 * @param {ProofRecord} p
 * @param {ProofStep[]} steps
 * @param {ProofCircuit | null} circuit
 */
function downloads(p, steps, circuit) {
  const status = h("span", { class: "muted" });
  const single = steps.length === 0 && circuit?.layout && p.request?.kind === "inference";
  const proofFile = steps.length
    ? {
        id: p.id,
        model: p.model,
        vkey_hash: p.vkey_hash,
        steps: steps.map((st) => ({
          index: st.index,
          output: st.output,
          public_signals: st.public_signals,
          proof: st.proof,
        })),
      }
    : single
      ? verifiableFile(p, circuit)
      : { id: p.id, model: p.model, vkey_hash: p.vkey_hash, public_signals: p.public_signals, proof: p.proof };
  return h(
    "div",
    { class: "downloads" },
    h(
      "button",
      {
        type: "button",
        id: "download-proof",
        disabled: !hasProof(p),
        onclick: () => downloadJson(`${p.id}.proof.json`, proofFile),
      },
      "Proof and public signals (.json)",
    ),
    h(
      "button",
      {
        type: "button",
        id: "download-vkey",
        onclick: async () => {
          status.textContent = "";
          try {
            downloadJson(`${p.id}.vkey.json`, await api(`/proofs/${encodeURIComponent(p.id)}/verification_key`));
          } catch (err) {
            status.textContent = /** @type {Error} */ (err).message;
          }
        },
      },
      "Verification key (.json)",
    ),
    status,
    h(
      "p",
      { class: "muted small" },
      "Check them offline: ",
      single
        ? [h("code", { text: `proofgate verify ${p.id}.proof.json` }), " (the proof and every claim in the file), or "]
        : null,
      h("code", { text: "snarkjs groth16 verify vkey.json public.json proof.json" }),
    ),
  );
}

// ---------- verify in the browser ----------

/** globalThis, where snarkjs's bundle puts `snarkjs` once it has run. */
const withSnarkjs = /** @type {WithSnarkjs} */ (globalThis);
/** @type {Promise<Snarkjs> | null} */
let snarkjsLoading = null;
function loadSnarkjs() {
  if (withSnarkjs.snarkjs) return Promise.resolve(withSnarkjs.snarkjs);
  snarkjsLoading ??= new Promise((resolve, reject) => {
    const script = h("script", { src: "/explorer/assets/snarkjs.min.js" });
    script.onload = () =>
      withSnarkjs.snarkjs ? resolve(withSnarkjs.snarkjs) : reject(new Error("snarkjs did not load"));
    script.onerror = () => {
      snarkjsLoading = null;
      reject(new Error("could not load snarkjs"));
    };
    document.head.append(script);
  });
  return snarkjsLoading;
}

/** @type {Promise<Poseidon> | null} */
let poseidonLoading = null;
function loadPoseidon() {
  poseidonLoading ??= fetch("/explorer/assets/poseidon-constants.json")
    .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`Poseidon constants: HTTP ${res.status}`))))
    .then(poseidonFromConstants)
    .catch((err) => {
      poseidonLoading = null;
      throw err;
    });
  return poseidonLoading;
}

/** Where this gateway says its registry is (GET /v1/chain); null when it has no chain. */
/** @type {Promise<ChainInfo> | null} */
let chainInfo = null;
async function gatewayChain() {
  chainInfo ??= /** @type {Promise<ChainInfo>} */ (api("/chain").catch(() => ({ contracts: null })));
  return chainInfo;
}

/** The registry's kind of each circuit kind (InferenceRegistry's ModelKind). */
/** @type {Record<CircuitSummary["kind"], number>} */
const KIND_CODES = { "token-step": 1, classify: 2, tensor: 3 };

/**
 * What the user gives to check the key, and where a verification writes what it finds.
 * @typedef {{ vkeyFile: File | null, expectedHash: string, rpcUrl: string, registry: string }} VerifyOptions
 * @typedef {{ result: HTMLElement, checks: HTMLElement, decoded: HTMLElement, trust: HTMLElement }} VerifyView
 */

/**
 * How checks report: a check that held (true), failed (false) or was skipped (null); a failure; a
 * thing taken from the server unchecked.
 * @typedef {object} Reporter
 * @property {(ok: boolean | null, label: string, detail?: string) => void} add
 * @property {(label: string, detail: string) => void} fail
 * @property {(text: string) => void} trusted
 */

/**
 * @param {ProofRecord} p
 * @param {ProofStep[]} steps
 */
function verifyCard(p, steps) {
  const result = h("div", { id: "verify-result", class: "verdict", dataset: { state: "idle" } });
  const checks = h("ul", { class: "checks", id: "verify-checks" });
  const decoded = h("dl", { class: "facts wide", id: "verify-decoded" });
  const trust = h("ul", { class: "trust", id: "verify-trust" });
  const fileInput = h("input", { type: "file", accept: ".json,application/json", id: "vkey-file" });
  const expectedHash = h("input", {
    type: "text",
    id: "vkey-hash-expected",
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "sha256 hex of the model's verification key",
    size: "66",
  });
  const rpcUrl = h("input", {
    type: "url",
    id: "rpc-url",
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "https://… (a node you trust)",
    size: "40",
  });
  const registry = h("input", {
    type: "text",
    id: "registry-address",
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "0x… registry address",
    size: "44",
  });
  const registryNote = h("span", { class: "small muted", id: "registry-note" });
  void gatewayChain().then((chain) => {
    if (chain.contracts?.registry && !registry.value) {
      registry.value = chain.contracts.registry;
      registryNote.textContent = ` taken from this server's /v1/chain (chain ${chain.chain_id}); change it to check against another`;
    }
  });
  const ready = hasProof(p);
  const button = h(
    "button",
    { type: "button", class: "primary big", id: "verify-button", disabled: !ready },
    "Verify in your browser",
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const options = {
        vkeyFile: fileInput.files?.[0] ?? null,
        expectedHash: expectedHash.value.trim(),
        rpcUrl: rpcUrl.value.trim(),
        registry: registry.value.trim(),
      };
      await verifyInBrowser(p, steps, options, { result, checks, decoded, trust });
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card verify" },
    h("h2", { text: "Verify in your browser" }),
    h(
      "p",
      { class: "muted" },
      ready
        ? "Runs snarkjs's Groth16 verifier here, in this page, decodes every public signal, recomputes the input commitment with Poseidon, and compares them with what this page shows (request, nonce, label, tokens). Name the key you expect, by its hash or through a chain node of your own, and the key is checked too; otherwise it is the server's."
        : "Available once the record is proved.",
    ),
    h("div", { class: "verify-row" }, button, result),
    h(
      "div",
      { class: "verify-options" },
      h("label", { class: "small muted" }, "Expected verification key hash (optional): ", expectedHash),
      h("label", { class: "small muted" }, "Check the key on-chain, JSON-RPC URL (optional): ", rpcUrl),
      h("label", { class: "small muted" }, "Registry: ", registry, registryNote),
      h("label", { class: "small muted" }, "Use a verification key file of your own (optional): ", fileInput),
    ),
    checks,
    h("h3", { class: "small", text: "Decoded from the public signals, here" }),
    decoded,
    h("h3", { class: "small", text: "Taken from the server, not checked here" }),
    trust,
  );
}

/**
 * Runs every check of a record here and writes the verdict; called only once hasProof(p).
 * @param {ProofRecord} p
 * @param {ProofStep[]} steps
 * @param {VerifyOptions} options
 * @param {VerifyView} view
 */
async function verifyInBrowser(p, steps, options, view) {
  const { result, checks, decoded, trust } = view;
  result.dataset.state = "running";
  result.textContent = "verifying…";
  checks.replaceChildren();
  decoded.replaceChildren();
  trust.replaceChildren();
  /** @type {Reporter["add"]} */
  const add = (ok, label, detail = "") =>
    checks.append(
      h(
        "li",
        { class: ok === true ? "ok" : ok === false ? "bad" : "skip" },
        h("span", { class: "mark", text: ok === true ? "✓" : ok === false ? "✗" : "–" }),
        h("strong", { text: label }),
        detail ? h("span", { class: "muted", text: ` ${detail}` }) : null,
      ),
    );
  /** @type {Reporter["trusted"]} */
  const trusted = (text) => trust.append(h("li", { text }));
  let valid = true;
  /** @type {Reporter["fail"]} */
  const fail = (label, detail) => {
    valid = false;
    add(false, label, detail);
  };
  try {
    const [snarkjs, poseidon, circuit] = await Promise.all([
      loadSnarkjs(),
      loadPoseidon(),
      /** @type {Promise<ProofCircuit>} */ (api(`/proofs/${encodeURIComponent(p.id)}/circuit`)),
    ]);
    /** @type {unknown} */
    const vkey = options.vkeyFile
      ? JSON.parse(await options.vkeyFile.text())
      : await api(`/proofs/${encodeURIComponent(p.id)}/verification_key`);
    await checkKey(p, vkey, circuit, options, { add, fail, trusted });
    /**
     * @param {string[]} signals
     * @param {Groth16Proof} proof
     */
    const check = async (signals, proof) => {
      try {
        return await snarkjs.groth16.verify(vkey, signals, proof);
      } catch {
        return false;
      }
    };
    // hasProof(p): every proof and its signals are there
    if (steps.length === 0) {
      const signals = /** @type {string[]} */ (p.public_signals);
      if (await check(signals, /** @type {Groth16Proof} */ (p.proof)))
        add(true, "Groth16 proof", `${signals.length} public signal${signals.length === 1 ? "" : "s"}`);
      else fail("Groth16 proof", "does not verify against the public signals");
    } else {
      /** @type {Map<number, ProofStep[]>} */
      const byChoice = new Map();
      for (const st of steps) {
        const ok = await check(/** @type {string[]} */ (st.public_signals), /** @type {Groth16Proof} */ (st.proof));
        if (ok) add(true, `Step ${st.index}`, `proof of its public signals`);
        else fail(`Step ${st.index}`, "proof does not verify against its public signals");
        const choice = st.output?.choice ?? 0;
        if (!byChoice.has(choice)) byChoice.set(choice, []);
        /** @type {ProofStep[]} */ (byChoice.get(choice)).push(st);
      }
      for (const [choice, list] of byChoice) {
        list.sort((a, b) => (a.output?.position ?? a.index) - (b.output?.position ?? b.index));
        const broken = list.findIndex((st, k) => k > 0 && st.public_signals?.[0] !== list[k - 1].public_signals?.[1]);
        if (broken === -1)
          add(
            true,
            `Chain of choice ${choice}`,
            `${list.length} step${list.length === 1 ? "" : "s"}, each state in equals the previous state out`,
          );
        else
          fail(
            `Chain of choice ${choice}`,
            `broken before step ${list[broken].index}: its state in is not the previous state out`,
          );
      }
    }
    // what the page shows, against what the signals say
    const claims = recordChecks(p, circuit.layout, poseidon, circuit.featurizer ?? null);
    for (const c of claims.checks) c.ok ? add(true, c.label, c.detail) : fail(c.label, c.detail);
    for (const d of claims.decoded) decoded.append(fact(d.label, h("span", { class: "mono", text: d.value })));
    trusted(
      "This page's code and the Poseidon constants: they come from this server (check offline with proofgate verify or snarkjs to rely on nothing here).",
    );
    trusted(
      options.rpcUrl
        ? "The circuit's input packing (how a sample becomes the committed words): the server's; its kind, label or token width and context were checked against the registry."
        : "The circuit's layout (how signals pack the input and output): the server's; a JSON-RPC URL checks its kind, label or token width and context against the registry.",
    );
    if (!claims.bound)
      trusted(
        "That the nonce is fresh and answers this request: the record names no content hash and salt to recompute it from.",
      );
    if (p.request?.kind === "generation")
      trusted(
        "The prompt's text and the generated text: they are what the tokenizer makes of the token ids checked here.",
      );
    else if (typeof p.request?.input === "string" && claims.featurized)
      trusted(
        "The featurizer's parameters (hashed words: buckets, word pattern): the server's; the text's features were recomputed here with them.",
      );
    else if (typeof p.request?.input === "string")
      trusted(
        "That the sample is what the model's featurizer makes of the text shown: the server gives no featurizer for this model.",
      );
    if (p.chain)
      trusted(
        "The on-chain record (transaction, block, gas): read from the server; look the transaction up on a node of your own.",
      );
  } catch (err) {
    fail("Verification", errorText(err));
  }
  result.dataset.state = valid ? "valid" : "invalid";
  result.textContent = valid ? "valid" : "invalid";
}

/**
 * Whether the server's layout has the value width (a label's or a token's) and context the registry holds for the key.
 * @param {CircuitLayout} layout
 * @param {RegistryEntry} entry
 */
function layoutMatches(layout, entry) {
  const p = layout.packing;
  if (p.kind === "token-step") return entry.bits === p.tokenBits && entry.context === p.context;
  if (p.kind === "classify") return entry.bits === p.valueBits;
  return true;
}

/**
 * The key: its hash against the record's, then against a hash the user gives or the registry on a node the user names.
 * @param {ProofRecord} p
 * @param {unknown} vkey
 * @param {ProofCircuit} circuit
 * @param {VerifyOptions} options
 * @param {Reporter} report
 */
async function checkKey(p, vkey, circuit, options, { add, fail, trusted }) {
  if (!globalThis.crypto?.subtle) {
    fail("Verification key hash", "not computable: hashing needs a secure context (https or localhost)");
    return;
  }
  const hash = await sha256Hex(JSON.stringify(canonical(vkey)));
  if (!p.vkey_hash) fail("Verification key hash", "the record names none");
  else if (hash === p.vkey_hash) add(true, "Verification key hash", `sha256 ${hash.slice(0, 16)}… matches the record`);
  else fail("Verification key hash", `sha256 ${hash.slice(0, 16)}… is not the record's ${p.vkey_hash.slice(0, 16)}…`);
  const fieldOfCircuit = /^[0-9a-f]{64}$/.test(p.request?.circuit ?? "")
    ? (BigInt(`0x${p.request?.circuit}`) >> 8n).toString()
    : null;
  if (fieldOfCircuit !== circuit.layout.model_id_field)
    fail(
      "Circuit",
      `the record's circuit ${p.request?.circuit ?? "(none)"} is not the circuit whose layout the server gave`,
    );
  let independent = false;
  const expected = options.expectedHash.toLowerCase().replace(/^0x/, "");
  if (expected) {
    independent = true;
    if (expected === hash) add(true, "Key you expect", "the key's hash is the one you gave");
    else fail("Key you expect", `the key's hash ${hash.slice(0, 16)}… is not the ${expected.slice(0, 16)}… you gave`);
  }
  if (options.rpcUrl) {
    independent = true;
    const registry = options.registry;
    try {
      if (!/^0x[0-9a-fA-F]{40}$/.test(registry))
        throw new Error(`${JSON.stringify(registry)} is not a contract address`);
      const entry = await registryEntry(options.rpcUrl, registry, hash);
      const where = `registry ${registry} on chain ${entry.chainId} (via ${options.rpcUrl})`;
      if (entry.kind === 0) fail("Key on-chain", `${where} has no model under key ${hash.slice(0, 16)}…`);
      else if (entry.kind !== KIND_CODES[circuit.kind])
        fail(
          "Key on-chain",
          `${where} registers key ${hash.slice(0, 16)}… as kind ${entry.kind}, not a ${circuit.kind} circuit`,
        );
      else if (entry.field !== fieldOfCircuit)
        fail(
          "Key on-chain",
          `${where} registers key ${hash.slice(0, 16)}… for another model (field ${entry.field.slice(0, 12)}…)`,
        );
      else if (!layoutMatches(circuit.layout, entry))
        fail(
          "Key on-chain",
          `${where} registers key ${hash.slice(0, 16)}… with ${entry.bits}-bit values and a context of ${entry.context}, not the layout the server gave`,
        );
      else {
        // entry.field is fieldOfCircuit, so the record names a circuit
        const named = /** @type {string} */ (p.request?.circuit);
        add(
          true,
          "Key on-chain",
          `${where} registers this key for circuit ${named.slice(0, 12)}…, verifier ${entry.verifier}`,
        );
        // and the chain's own verifier (its key, not the one this page was given) accepts every proof
        const proofs = /** @type {[Groth16Proof, string[]][]} */ (
          p.steps?.length ? p.steps.map((st) => [st.proof, st.public_signals]) : [[p.proof, p.public_signals]]
        );
        let rejected = 0;
        for (const [proof, signals] of proofs)
          if (!(await registryVerifies(options.rpcUrl, registry, hash, proof, signals).catch(() => false))) rejected++;
        if (rejected === 0)
          add(
            true,
            "Proof on-chain",
            `the registry's verifier accepts ${proofs.length === 1 ? "the proof" : `all ${proofs.length} proofs`} (eth_call, nothing sent)`,
          );
        else
          fail(
            "Proof on-chain",
            `the registry's verifier rejects ${rejected} of ${proofs.length} proof${proofs.length === 1 ? "" : "s"}`,
          );
      }
    } catch (err) {
      fail("Key on-chain", `could not read the registry: ${errorText(err)}`);
    }
    const served = (await gatewayChain()).contracts?.registry;
    if (served && served.toLowerCase() === registry.toLowerCase())
      trusted(`The registry's address ${registry}: from this server's /v1/chain (the node you named answered for it).`);
  }
  if (!independent) {
    add(null, "Key", "taken from the server, not independently checked: give the hash you expect or a JSON-RPC URL");
    trusted("The verification key: the server's, not independently checked.");
  }
}

// ---------- trusted setup ----------

/** Each model's setup transcript (GET /v1/models/{model}/setup), fetched once; null when it has none. */
/** @type {Map<string, Promise<SetupTranscript | null>>} */
const setupCache = new Map();
/** @param {string} model */
function modelSetup(model) {
  if (!setupCache.has(model)) {
    setupCache.set(
      model,
      /** @type {Promise<SetupTranscript | null>} */ (
        api(`/models/${encodeURIComponent(model)}/setup`).catch((err) => {
          if (err instanceof ApiError && err.status === 404) return null;
          setupCache.delete(model);
          throw err;
        })
      ),
    );
  }
  return /** @type {Promise<SetupTranscript | null>} */ (setupCache.get(model));
}

/**
 * A slot filled with the model's transcript once fetched (the page re-renders often; the fetch is cached).
 * @param {string} model
 * @param {string} id
 */
function setupSlot(model, id) {
  const slot = h(
    "div",
    { id, class: "setup", dataset: { state: "loading" } },
    h("span", { class: "muted", text: "Loading the transcript…" }),
  );
  modelSetup(model)
    .then((setup) => {
      slot.dataset.state = setup ? "shown" : "none";
      clear(slot, setupView(setup));
    })
    .catch((err) => {
      slot.dataset.state = "error";
      clear(slot, h("span", { class: "muted", text: `Transcript not available: ${errorText(err)}` }));
    });
  return slot;
}

/** @param {unknown} v */
const text = (v) =>
  v === null || v === undefined || v === "" ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);

/** @param {Contributions | undefined} list */
function contributionList(list) {
  if (!Array.isArray(list) || list.length === 0) return h("span", { class: "muted", text: "none listed" });
  return h(
    "ol",
    { class: "contributions" },
    list.map((c) => h("li", {}, h("strong", { text: text(c?.name) }), " ", c?.hash ? short(c.hash, 12, 8) : null)),
  );
}

/**
 * The transcript as the server gives it, field by field, whatever of it is there; never as markup.
 * @param {SetupTranscript | null} setup
 */
function setupView(setup) {
  if (!setup || typeof setup !== "object")
    return h("p", {
      class: "muted",
      text: "No transcript: this gateway ships none for this model, so who ran its trusted setup is not on record.",
    });
  const p1 = setup.phase1 ?? {};
  const p2 = setup.phase2 ?? {};
  const beacon = p2.beacon;
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "facts wide" },
      fact(
        "Phase 1 (powers of tau)",
        h("span", {
          class: "mono",
          text: [p1.file, p1.power !== undefined ? `2^${p1.power}` : null].filter(Boolean).join(" · ") || "—",
        }),
      ),
      p1.blake2b ? fact("Phase 1 blake2b", short(p1.blake2b, 16, 8)) : null,
      fact("Phase 1 contributions", contributionList(p1.contributions)),
      fact("Phase 2 contributions", contributionList(p2.contributions)),
      fact(
        "Random beacon",
        beacon
          ? h("span", {
              class: "mono",
              text: `${text(beacon.hash)}${beacon.iterations !== undefined ? ` · 2^${beacon.iterations} iterations` : ""}`,
            })
          : h("span", { class: "muted", text: "none: the last contributor's randomness is not publicly fixed" }),
      ),
      fact(
        "Transcript verified",
        setup.verified === true
          ? "yes, says the server"
          : setup.verified === false
            ? h("span", { class: "bad", text: "no, says the server" })
            : "—",
      ),
    ),
    h("p", {
      class: "muted small",
      text: "As the server reports it. One honest contributor is enough; check the transcript yourself with snarkjs zkey verify.",
    }),
  );
}

// ---------- models and workers ----------

/**
 * GET /v1/stats, or why not.
 * @param {AbortSignal} signal
 * @returns {Promise<{ stats: Stats | null, error: unknown }>}
 */
async function loadStats(signal) {
  try {
    return { stats: /** @type {Stats} */ (await api("/stats", { signal })), error: null };
  } catch (err) {
    return { stats: null, error: err };
  }
}

/** @param {AbortSignal} signal */
async function modelsPage(signal) {
  document.title = "Models · proofgate explorer";
  clear(
    app,
    h("div", { class: "page-head" }, h("h1", { text: "Models" })),
    h("p", { class: "muted", text: "Loading…" }),
  );
  const tick = async () => {
    const [{ stats, error }, models] = await Promise.all([loadStats(signal), servedModels(signal).catch(() => [])]);
    if (signal.aborted) return;
    renderModels(stats, error, models);
    later(tick, STATS_POLL_MS);
  };
  void tick();
}

/**
 * @param {Stats | null} stats
 * @param {unknown} error why there are none
 * @param {ModelObject[]} served
 */
function renderModels(stats, error, served) {
  const byId = new Map(served.map((m) => [m.id, m]));
  const rows = stats
    ? stats.models
    : served.map((m) => ({ model: m.id, provable: m.provable, circuit: null, proofs: null, median_prove_ms: null }));
  const scroll = window.scrollY;
  clear(
    app,
    h(
      "div",
      { class: "page-head" },
      h("h1", { text: "Models" }),
      h("span", { class: "live" }, h("span", { class: "live-dot" }), "live"),
    ),
    !stats && error
      ? h(
          "p",
          { class: "notice" },
          "Proof statistics are not available from this gateway: ",
          /** @type {Error} */ (error).message,
        )
      : null,
    h(
      "div",
      { class: "card table-card" },
      h(
        "table",
        { class: "models", id: "models-table" },
        thead([
          "Model",
          "Task",
          "Circuit",
          "Constraints#",
          "Proofs#",
          "By status",
          "Median prove#",
          "Verification key hash",
        ]),
        h(
          "tbody",
          {},
          rows.map((m) => {
            const info = byId.get(m.model);
            return h(
              "tr",
              { id: m.model, dataset: { model: m.model } },
              h(
                "td",
                { class: "model-cell" },
                h("strong", { text: m.model }),
                info?.summary ? h("div", { class: "muted small summary", text: info.summary }) : null,
              ),
              h("td", { class: "muted", text: info?.task ?? "—" }),
              h(
                "td",
                { class: "nowrap" },
                m.circuit ? m.circuit.kind : h("span", { class: "muted", text: m.provable ? "—" : "not proven" }),
              ),
              h("td", { class: "num", text: m.circuit ? fmtInt(m.circuit.constraints) : "—" }),
              h(
                "td",
                { class: "num" },
                m.proofs ? link(`/explorer?model=${encodeURIComponent(m.model)}`, fmtInt(m.proofs.total)) : "—",
              ),
              h("td", {}, m.proofs ? statusBar(m.proofs) : "—"),
              h("td", { class: "num", text: fmtMs(m.median_prove_ms) }),
              h("td", {}, m.circuit ? short(m.circuit.vkey_hash, 8, 6) : "—"),
            );
          }),
        ),
      ),
    ),
    stats ? card("Proof latency over time", latencyChart(stats.latency)) : null,
    card(
      "Trusted setup",
      rows
        .filter((m) => m.provable !== false)
        .map((m) =>
          h("div", { class: "setup-model" }, h("h3", { text: m.model }), setupSlot(m.model, `setup-${m.model}`)),
        ),
    ),
  );
  window.scrollTo(0, scroll);
}

/**
 * Counts by status as a small stacked bar with its numbers.
 * @param {ProofCounts} counts
 */
function statusBar(counts) {
  const total = STATUSES.reduce((a, st) => a + (counts[st] ?? 0), 0);
  const bar = h("div", { class: "minibar" });
  for (const st of STATUSES) {
    if (!counts[st]) continue;
    const seg = h("span", { class: `status-${st}`, title: `${st}: ${counts[st]}` });
    seg.style.flexGrow = String(counts[st]);
    bar.append(seg);
  }
  const legend = STATUSES.filter((st) => counts[st])
    .map((st) => `${counts[st]} ${st}`)
    .join(" · ");
  return h(
    "div",
    { class: "statusbar" },
    total ? bar : null,
    h("span", { class: "small muted", text: legend || "none" }),
  );
}

/**
 * Total time per record (request → proved) against when it was made, one colour per model.
 * @param {LatencyPoint[] | undefined} points
 */
function latencyChart(points) {
  if (!points?.length) return h("p", { class: "muted", id: "latency-chart", text: "No proved records yet." });
  const W = 1000;
  const H = 240;
  const pad = { l: 56, r: 16, t: 12, b: 30 };
  const xs = points.map((pt) => pt.created);
  const ys = points.map((pt) => pt.total_ms);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x1 === x0) {
    x0 -= 30;
    x1 += 30;
  }
  const y1 = niceCeil(Math.max(...ys) * 1.05);
  /** @param {number} x */
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  /** @param {number} y */
  const Y = (y) => H - pad.b - (y / y1) * (H - pad.t - pad.b);
  const models = [...new Set(points.map((pt) => pt.model))];
  /** @param {string} m */
  const color = (m) => MODEL_COLORS[models.indexOf(m) % MODEL_COLORS.length];
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => f * y1);
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${W} ${H}`,
      class: "chart",
      id: "latency-chart",
      role: "img",
      "aria-label": "proof latency over time",
    },
    grid.map((g) =>
      s(
        "g",
        {},
        s("line", { x1: pad.l, x2: W - pad.r, y1: Y(g), y2: Y(g), class: "grid" }),
        s("text", { x: pad.l - 6, y: Y(g) + 4, class: "axis", "text-anchor": "end" }, axisMs(g)),
      ),
    ),
    s("text", { x: pad.l, y: H - 8, class: "axis" }, fmtTime(x0).slice(11)),
    s("text", { x: W - pad.r, y: H - 8, class: "axis", "text-anchor": "end" }, fmtTime(x1).slice(11)),
    models.map((m) => {
      const mine = points.filter((pt) => pt.model === m).sort((a, b) => a.created - b.created);
      return s(
        "g",
        {},
        mine.length > 1
          ? s("polyline", {
              points: mine.map((pt) => `${X(pt.created).toFixed(1)},${Y(pt.total_ms).toFixed(1)}`).join(" "),
              fill: "none",
              stroke: color(m),
              "stroke-width": 1.5,
              "stroke-opacity": 0.5,
            })
          : null,
        mine.map((pt) =>
          s(
            "circle",
            { cx: X(pt.created).toFixed(1), cy: Y(pt.total_ms).toFixed(1), r: 4, fill: color(m) },
            s("title", {}, `${pt.id} · ${m} · ${fmtMs(pt.total_ms)} · ${fmtTime(pt.created)}`),
          ),
        ),
      );
    }),
  );
  return h(
    "div",
    {},
    svg,
    h(
      "div",
      { class: "legend" },
      models.map((m) => h("span", {}, swatch(color(m)), m)),
    ),
    h("p", { class: "muted small", text: `${points.length} records, request to proved.` }),
  );
}

/** @param {string} color */
function swatch(color) {
  const dot = h("span", { class: "dot" });
  dot.style.background = color;
  return dot;
}

/** @param {number} ms */
function axisMs(ms) {
  if (ms === 0) return "0";
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))} s` : `${Number(ms.toFixed(1))} ms`;
}

/** @param {number} v */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** @param {AbortSignal} signal */
async function workersPage(signal) {
  document.title = "Workers · proofgate explorer";
  clear(
    app,
    h("div", { class: "page-head" }, h("h1", { text: "Workers" })),
    h("p", { class: "muted", text: "Loading…" }),
  );
  const tick = async () => {
    const { stats, error } = await loadStats(signal);
    if (signal.aborted) return;
    renderWorkers(stats, error);
    later(tick, STATS_POLL_MS);
  };
  void tick();
}

/**
 * @param {Stats | null} stats
 * @param {unknown} error why there are none
 */
function renderWorkers(stats, error) {
  const workers = stats?.workers ?? [];
  const most = Math.max(1, ...workers.map((w) => w.proofs));
  const scroll = window.scrollY;
  clear(
    app,
    h(
      "div",
      { class: "page-head" },
      h("h1", { text: "Workers" }),
      h("span", { class: "live" }, h("span", { class: "live-dot" }), "live"),
    ),
    !stats && error
      ? h(
          "p",
          { class: "notice" },
          "Worker statistics are not available from this gateway: ",
          /** @type {Error} */ (error).message,
        )
      : null,
    stats
      ? h(
          "div",
          { class: "card table-card" },
          h(
            "table",
            { class: "workers", id: "workers-table" },
            thead(["Worker", "Proofs#", "", "Median time of one proof#"]),
            h(
              "tbody",
              {},
              workers.length === 0
                ? h("tr", { class: "empty" }, h("td", { colspan: "4", text: "No worker has made a proof yet." }))
                : workers.map((w) => {
                    const bar = h("span", { class: "hbar" });
                    bar.style.width = `${(100 * w.proofs) / most}%`;
                    return h(
                      "tr",
                      { dataset: { prover: w.prover } },
                      h("td", { class: "mono", text: w.prover }),
                      h("td", { class: "num", text: fmtInt(w.proofs) }),
                      h("td", { class: "barcell" }, bar),
                      h("td", { class: "num", text: fmtMs(w.median_prove_ms) }),
                    );
                  }),
            ),
          ),
        )
      : null,
    stats
      ? h("p", {
          class: "muted small",
          text: `Over the newest ${fmtInt(stats.window)} records. A generation counts once for each worker that proved one of its steps.`,
        })
      : null,
    stats ? card("Proof latency over time", latencyChart(stats.latency)) : null,
  );
  window.scrollTo(0, scroll);
}

// ---------- start ----------

const keyInput = /** @type {HTMLInputElement} */ (document.getElementById("api-key"));
keyInput.value = apiKey();
keyInput.addEventListener("change", () => {
  const key = keyInput.value.trim();
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    typedKey = null;
  } catch {
    // storage refused (private mode): the key lasts for this page only
    typedKey = key;
  }
  modelsCache = null;
  void route();
});

void route();
