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
