/**
 * The embedded chain: anvil from npm (`@foundry-rs/anvil-linux-amd64`), spawned on a free loopback
 * port. With `statePath` it loads that state at start (blocks, transactions and receipts included),
 * writes it back every `stateIntervalS` seconds and when stopped, so a restart keeps every contract
 * and record, and a kill -9 loses at most the last interval. An anvil left running on the same state
 * file by a gateway that was killed (its child outlives it) is stopped first, so it saves its state
 * and two chains never write one file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { sleep } from "../core/sleep.js";

export interface AnvilOptions {
  /** @defaultValue a free loopback port */
  readonly port?: number;
  /** Load the chain from this file if it exists, and dump it there periodically and on stop (its folder is created). */
  readonly statePath?: string;
  /** Seconds between state dumps while running, with `statePath`. @defaultValue 5 */
  readonly stateIntervalS?: number;
  /** @defaultValue 31337 */
  readonly chainId?: number;
}

export interface Anvil {
  readonly url: string;
  readonly port: number;
  readonly chainId: number;
  /** The anvil process. */
  readonly pid: number;
  /** SIGTERM, then waits for the exit (and the state dump). Safe to call twice. */
  stop(): Promise<void>;
}

/** anvil's first default account: public knowledge, for the embedded chain only. */
export const ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** The chain id an RPC endpoint answers `eth_chainId` with; throws when it does not answer in time. */
export async function rpcChainId(url: string, timeoutMs = 10_000): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: string };
  if (!body.result) throw new Error(`${url} did not answer eth_chainId`);
  return Number(BigInt(body.result));
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const port = options.port ?? (await freePort());
  const chainId = options.chainId ?? 31337;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--silent"];
  const pidFile = options.statePath ? `${options.statePath}.pid` : null;
  if (options.statePath) {
    // anvil writes nothing, and says nothing, when the folder is missing
    mkdirSync(dirname(options.statePath), { recursive: true });
    await stopOrphan(pidFile!, options.statePath);
    args.push("--state", options.statePath, "--state-interval", String(options.stateIntervalS ?? 5));
  }
  const child: ChildProcess = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  if (pidFile) writeFileSync(pidFile, String(child.pid));
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (
    !(await rpcChainId(url, 1000).then(
      () => true,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      if (pidFile) rmSync(pidFile, { force: true });
      throw new Error(`anvil did not start on port ${port}${stderr ? `: ${stderr.trim()}` : ""}`);
    }
    await sleep(50);
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    chainId,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
        if (pidFile) rmSync(pidFile, { force: true });
      })();
      return stopping;
    },
  };
}

/**
 * The anvil a pid file names, if it still runs on this state file (its command line says so: a pid
 * reused by another process is left alone): SIGTERM, so it saves the chain, then wait for it to go.
 */
async function stopOrphan(pidFile: string, statePath: string): Promise<void> {
  let pid: number;
  let cmdline: string;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return; // no pid file, or that process is gone
  }
  if (
    !Number.isInteger(pid) ||
    pid <= 0 ||
    !cmdline.includes(anvilBinary()) ||
    !cmdline.includes(`--state ${statePath} `)
  )
    return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) process.kill(pid, "SIGKILL");
    await sleep(50);
  }
}

/** Running: a zombie (exited, not yet reaped by whoever inherited it) is not. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
