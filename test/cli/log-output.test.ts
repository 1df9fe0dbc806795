import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/config.js";
import { cliLogger, prettyLine } from "../../src/cli/log-output.js";

/** A stand-in for process.stdout that records what is written. */
function terminal(isTTY: boolean): NodeJS.WriteStream & { lines: string[] } {
  const lines: string[] = [];
  return { isTTY, lines, write: (chunk: string) => lines.push(chunk) > 0 } as unknown as NodeJS.WriteStream & {
    lines: string[];
  };
}

describe("CLI log output", () => {
  it("a JSON line becomes time, level, message and key=value fields", () => {
    const line = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
        pid: 1,
        hostname: "h",
        msg: "models loaded",
        device: "cpu",
        models: ["pg-spam"],
        note: "two words",
      }),
    );
    assert.equal(line, '03:04:05.678 WARN  models loaded device=cpu models=["pg-spam"] note="two words"');
    assert.equal(prettyLine("not json\n"), "not json");
  });

  it("pretty on a terminal, pino's JSON lines elsewhere, forced by PROOFGATE_LOG_FORMAT", () => {
    const tty = terminal(true);
    cliLogger(loadConfig({}), tty).info({ port: 8080 }, "listening");
    assert.match(tty.lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening port=8080\n$/);
    const forced = terminal(false);
    cliLogger(loadConfig({ PROOFGATE_LOG_FORMAT: "pretty" }), forced).info("x");
    assert.match(forced.lines[0]!, / INFO {2}x\n$/);
    assert.throws(() => loadConfig({ PROOFGATE_LOG_FORMAT: "xml" }), /PROOFGATE_LOG_FORMAT must be auto, json, pretty/);
  });
});
