/**
 * A value that must never reach a log line or an API answer (a private key, a keystore password):
 * JSON, `util.inspect` and string conversion all print "[redacted]"; only `reveal()` gives it out.
 */
import { inspect } from "node:util";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return "[redacted]";
  }

  toString(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

/**
 * A service URL as logs and errors may show it: scheme and host only. Credentials hide in the user
 * info (postgres://user:password@…, redis://:password@…) and, for RPC providers, in the path or query
 * (…/v3/<api key>), so neither is ever printed.
 */
export function urlForLogs(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(unparseable URL)";
  }
}

/** `message` with every occurrence of `url` (whole, or its secret parts) replaced by urlForLogs(url). */
export function withoutUrl(message: string, url: string): string {
  let out = message.split(url).join(urlForLogs(url));
  try {
    const u = new URL(url);
    for (const part of [u.password, u.username, u.pathname.length > 1 ? u.pathname : "", u.search])
      if (part) out = out.split(part).join("***");
  } catch {
    // an unparseable URL was replaced whole above
  }
  return out;
}
