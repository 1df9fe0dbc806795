/**
 * Does a Redis answer at this URL? The composition root asks once at start to choose BullMQ or the
 * in-process queue, and the `*.redis.test.ts` files ask to decide whether to skip. A bare RESP
 * exchange over one socket (AUTH when the URL carries a password, SELECT for a database, then PING),
 * so the answer comes within `timeoutMs` instead of after a client's reconnect loop.
 */
import net from "node:net";
import tls from "node:tls";

export interface RedisProbeResult {
  readonly reachable: boolean;
  /** Why not, in one line, when not reachable. */
  readonly reason: string | null;
}

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** Says whether a Redis at `url` answers PING within `timeoutMs`, and why not when it doesn't. */
export function probeRedis(url: string, timeoutMs = 1000): Promise<RedisProbeResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve({ reachable: false, reason: `not a URL: ${JSON.stringify(url)}` });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return Promise.resolve({
      reachable: false,
      reason: `expected a redis:// or rediss:// URL; got ${parsed.protocol}`,
    });
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(parsed.port || 6379);
  const requests: string[] = [];
  if (parsed.password) {
    const password = decodeURIComponent(parsed.password);
    requests.push(
      parsed.username ? command("AUTH", decodeURIComponent(parsed.username), password) : command("AUTH", password),
    );
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db) requests.push(command("SELECT", db));
  requests.push(command("PING"));

  return new Promise((resolve) => {
    const socket =
      parsed.protocol === "rediss:"
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
        : net.connect({ host, port });
    let buffer = "";
    let replies = 0;
    const finish = (result: RedisProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ reachable: false, reason: `no answer from ${host}:${port} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once(parsed.protocol === "rediss:" ? "secureConnect" : "connect", () => socket.write(requests.join("")));
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line.startsWith("-"))
          return finish({ reachable: false, reason: `${host}:${port} answered ${line.slice(1)}` });
        if (++replies === requests.length) {
          return finish(
            line === "+PONG"
              ? { reachable: true, reason: null }
              : { reachable: false, reason: `${host}:${port} answered ${line} to PING` },
          );
        }
      }
    });
    socket.on("error", (err) => finish({ reachable: false, reason: `${host}:${port}: ${err.message}` }));
    socket.on("close", () => finish({ reachable: false, reason: `${host}:${port} closed the connection` }));
  });
}

/** Whether a Redis at `url` answers PING within `timeoutMs`. */
export async function isRedisReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  return (await probeRedis(url, timeoutMs)).reachable;
}
