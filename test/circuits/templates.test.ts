import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileCircom } from "../../src/circuit/compile-circom.js";
import { firstViolatedConstraint, loadConstraintSystem, type ConstraintSystem } from "../../src/circuit/r1cs.js";
import { FIELD_PRIME } from "../../src/snark/field.js";
import { loadSymbols } from "../../src/circuit/symbols.js";
import { CircuitWitness, type CircuitInput } from "../../src/witness/witness-calculator.js";
import { buildPoseidon } from "circomlibjs";

/** circomlib's habit: each template through a small main harness, checked against a JS model. */
interface Harness {
  system: ConstraintSystem;
  symbols: Map<string, number>;
  witness: CircuitWitness;
}

async function harness(name: string): Promise<Harness> {
  const out = await mkdtemp(join(tmpdir(), `pg-${name}-`));
  const compiled = await compileCircom({
    source: await readFile(`test/circuits/${name}.circom`, "utf8"),
    name,
    outDir: out,
  });
  return {
    system: await loadConstraintSystem(compiled.r1cs),
    symbols: await loadSymbols(compiled.sym),
    witness: await CircuitWitness.load(compiled.wasm),
  };
}

const field = (x: bigint) => ((x % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;
const signed = (x: bigint) => (x > FIELD_PRIME / 2n ? x - FIELD_PRIME : x);

async function solve(h: Harness, input: CircuitInput): Promise<bigint[]> {
  const w = await h.witness.values(input);
  assert.equal(
    firstViolatedConstraint(h.system, w),
    -1,
    `honest witness for ${JSON.stringify(input, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`,
  );
  return w;
}

function at(h: Harness, w: readonly bigint[], name: string): bigint {
  const i = h.symbols.get(name);
  assert.ok(i !== undefined, `signal ${name} in the witness`);
  return w[i];
}

function forged(h: Harness, w: readonly bigint[], changes: Record<string, bigint>): bigint[] {
  const copy = [...w];
  for (const [name, value] of Object.entries(changes)) {
    const i = h.symbols.get(name);
    assert.ok(i !== undefined, `signal ${name} in the witness`);
    copy[i] = field(value);
  }
  return copy;
}

describe("Requantize(shift 3, quotient 8 bits, out 4 bits)", () => {
  let h: Harness;
  before(async () => (h = await harness("requantize_test")));
  const reference = (x: bigint) => {
    const q = x >= 0n ? x / 8n : -((-x + 7n) / 8n); // floor toward −∞
    return q < 0n ? 0n : q > 15n ? 15n : q;
  };

  test("matches floor, ReLU and saturation on edge inputs", async () => {
    // zero, rounding boundaries, negatives, the clamp edges, and the largest magnitudes in bound (|in| < 2^10)
    for (const x of [0n, 1n, 7n, 8n, 9n, -1n, -7n, -8n, -9n, 119n, 120n, 127n, 128n, 1023n, -1024n, 500n, -500n]) {
      const w = await solve(h, { in: field(x) });
      assert.equal(at(h, w, "main.out"), reference(x), `in = ${x}`);
    }
  });

  test("a forged quotient/remainder pair or output fails the constraints", async () => {
    const w = await solve(h, { in: 20n }); // q = 2, r = 4: out = 2
    const q = at(h, w, "main.q");
    const r = at(h, w, "main.r");
    // shift one unit between quotient and remainder: in = q·8 + r still holds, r is out of [0, 8)
    assert.notEqual(firstViolatedConstraint(h.system, forged(h, w, { "main.q": q + 1n, "main.r": r - 8n })), -1);
    assert.notEqual(firstViolatedConstraint(h.system, forged(h, w, { "main.q": q - 1n, "main.r": r + 8n })), -1);
    assert.notEqual(firstViolatedConstraint(h.system, forged(h, w, { "main.out": 3n })), -1);
  });

  test("an input outside the declared bound has no witness", async () => {
    await assert.rejects(h.witness.values({ in: 1n << 12n }));
  });
});

describe("ArgMax(5 values, 10-bit gaps)", () => {
  let h: Harness;
  before(async () => (h = await harness("argmax_test")));

  test("returns the first index of the maximum, negatives included", async () => {
    const cases: [bigint[], bigint][] = [
      [[1n, 2n, 3n, 4n, 5n], 4n],
      [[5n, 5n, 1n, 5n, 0n], 0n],
      [[-3n, -1n, -2n, -1n, -9n], 1n],
      [[0n, 0n, 0n, 0n, 0n], 0n],
      [[-511n, 511n, 0n, 511n, -1n], 1n],
    ];
    for (const [values, index] of cases) {
      const w = await solve(h, { in: values.map(field) });
      assert.equal(at(h, w, "main.index"), index, `argmax ${values}`);
      assert.equal(signed(at(h, w, "main.max")), values[Number(index)]);
    }
  });

  test("claiming a later tie or a smaller value fails the constraints", async () => {
    const w = await solve(h, { in: [5n, 5n, 1n, 5n, 0n].map(field) });
    // move the selector to index 3 (a later tie), recomputing index/max as a cheat would
    const cheat = forged(h, w, {
      "main.selected[0]": 0n,
      "main.selected[3]": 1n,
      "main.picked[0]": 0n,
      "main.picked[3]": 5n,
      "main.index": 3n,
    });
    assert.notEqual(firstViolatedConstraint(h.system, cheat), -1);
    const smaller = forged(h, w, {
      "main.selected[0]": 0n,
      "main.selected[2]": 1n,
      "main.picked[0]": 0n,
      "main.picked[2]": 1n,
      "main.index": 2n,
      "main.max": 1n,
    });
    assert.notEqual(firstViolatedConstraint(h.system, smaller), -1);
  });
});

describe("OneHot(6)", () => {
  let h: Harness;
  before(async () => (h = await harness("one_hot_test")));

  test("sets exactly the bit at the index and rejects indices out of range", async () => {
    for (let i = 0n; i < 6n; i++) {
      const w = await solve(h, { index: i });
      for (let j = 0; j < 6; j++) assert.equal(at(h, w, `main.bits[${j}]`), BigInt(j) === i ? 1n : 0n);
    }
    await assert.rejects(h.witness.values({ index: 6n }));
    const w = await solve(h, { index: 2n });
    assert.notEqual(firstViolatedConstraint(h.system, forged(h, w, { "main.bits[2]": 0n, "main.bits[3]": 1n })), -1);
  });
});

describe("InRange: 8 bits to 254 (an inverse), 8 bits to 252 (a product), 4 bits to 9 (a second decomposition)", () => {
  let h: Harness;
  before(async () => (h = await harness("in_range_test")));
  const slots = [
    { signal: "one", bits: 8, span: 254 },
    { signal: "three", bits: 8, span: 252 },
    { signal: "many", bits: 4, span: 9 },
  ];

  test("accepts exactly [0, span] of every value a slot holds, and no value past it or negative", async () => {
    for (const { signal, bits, span } of slots) {
      for (let x = 0n; x < 1n << BigInt(bits); x++) {
        const input = { one: 0n, three: 0n, many: 0n, [signal]: x };
        if (x <= BigInt(span)) await solve(h, input);
        else await assert.rejects(h.witness.values(input), `${signal} = ${x}`);
      }
      await assert.rejects(h.witness.values({ one: 0n, three: 0n, many: 0n, [signal]: field(-1n) }));
    }
  });

  test("a value past the span with a valid bit decomposition fails whatever else is claimed", async () => {
    const w = await solve(h, { one: 254n, three: 252n, many: 9n });
    const lowBits = (component: string, x: number, bits: number) =>
      Object.fromEntries(
        Array.from({ length: bits }, (_, i) => [`main.${component}.low.out[${i}]`, BigInt((x >> i) & 1)]),
      );
    // 255: no distance to 255 is invertible, whatever inverse is claimed
    for (const inverse of [0n, 1n, field(-1n)]) {
      assert.notEqual(
        firstViolatedConstraint(
          h.system,
          forged(h, w, {
            "main.one": 255n,
            ...lowBits("a", 255, 8),
            "main.a.distance[0]": 0n,
            "main.a.inverse": inverse,
          }),
        ),
        -1,
      );
    }
    // 253 zeroes the first factor of the product (254 and 255 the later ones)
    for (const x of [253, 254, 255]) {
      const d = [x - 253, (x - 253) * (x - 254), (x - 253) * (x - 254) * (x - 255)].map((v) => BigInt(v));
      const changes = {
        "main.three": BigInt(x),
        ...lowBits("b", x, 8),
        "main.b.distance[0]": d[0],
        "main.b.distance[1]": d[1],
        "main.b.distance[2]": d[2],
        "main.b.inverse": 1n,
      };
      assert.notEqual(firstViolatedConstraint(h.system, forged(h, w, changes)), -1, `three = ${x}`);
    }
    // 10: 9 − 10 = −1 has no 4-bit decomposition
    const high = {
      "main.c.high.in": field(-1n),
      ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`main.c.high.out[${i}]`, 1n])),
    };
    assert.notEqual(
      firstViolatedConstraint(h.system, forged(h, w, { "main.many": 10n, ...lowBits("c", 10, 4), ...high })),
      -1,
    );
  });
});

describe("HashWords(40) and Claim(16)", () => {
  let h: Harness;
  before(async () => (h = await harness("commitment_test")));

  test("the commitment is circomlibjs's chained Poseidon and the claim carries the value in its low bits", async () => {
    const poseidon = await buildPoseidon();
    const words = Array.from({ length: 40 }, (_, i) => BigInt(i) * 1000003n + 7n);
    let acc = poseidon.F.toObject(poseidon(words.slice(0, 16)));
    for (let k = 16; k < 40; k += 15) acc = poseidon.F.toObject(poseidon([acc, ...words.slice(k, k + 15)]));
    const w = await solve(h, { words, value: 513n });
    assert.equal(at(h, w, "main.commitment"), acc);
    assert.equal(at(h, w, "main.claim"), ((acc >> 16n) << 16n) + 513n);
    await assert.rejects(h.witness.values({ words, value: 1n << 16n }));
  });
});
