/** Resolves on the first SIGTERM or SIGINT: long-running verbs stop gracefully on either. */
import { once } from "node:events";

export function stopSignal(): Promise<string> {
  return Promise.race([once(process, "SIGTERM").then(() => "SIGTERM"), once(process, "SIGINT").then(() => "SIGINT")]);
}
