/**
 * Where the CLI's logs go: JSON lines (pino's own format) when stdout is a file or a pipe, for log
 * shippers; one readable line per entry on a terminal — time, level, message, then the fields as
 * key=value — so a person running `make run` can read it. $PROOFGATE_LOG_FORMAT=json|pretty overrides.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import type { Config } from "../config/config.js";

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** pino's own fields, shown in the line's head rather than as key=value. */
const HEAD_FIELDS = new Set(["level", "time", "msg", "pid", "hostname"]);

function field(value: unknown): string {
  if (typeof value === "string") return /^[\w./:@+-]*$/.test(value) && value.length > 0 ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One pino JSON line → one readable line. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const time = typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 23) : "";
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${field(value)}`);
  return [time, level, entry.msg ?? "", ...fields].filter((part) => part !== "").join(" ");
}

function prettyStream(out: NodeJS.WriteStream): DestinationStream {
  return { write: (line: string) => void out.write(`${prettyLine(line)}\n`) };
}

export function cliLogger(
  config: Pick<Config, "logLevel" | "logFormat">,
  out: NodeJS.WriteStream = process.stdout,
): Logger {
  const pretty = config.logFormat === "pretty" || (config.logFormat === "auto" && out.isTTY === true);
  return pretty ? pino({ level: config.logLevel }, prettyStream(out)) : pino({ level: config.logLevel });
}
