import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { encoding: "utf8" });

test("--help lists the commands and every command answers --help", () => {
  const top = cli("--help");
  assert.equal(top.status, 0);
  assert.match(top.stdout, /models build/);
  const verb = cli("models", "build", "--help");
  assert.equal(verb.status, 0);
  assert.match(verb.stdout, /usage: proofgate models build/);
});

test("failures are one line on stderr with a non-zero exit", () => {
  for (const args of [["frobnicate"], ["models", "build", "--seed", "abc"], ["models", "build", "--no-such-flag"]]) {
    const r = cli(...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^proofgate/);
  }
});
