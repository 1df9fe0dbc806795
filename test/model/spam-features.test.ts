import { test } from "node:test";
import assert from "node:assert/strict";
import { fnv1a32, spamFeatures, SPAM_FEATURIZER } from "../../src/model/spam-features.js";
import { messageText } from "../../src/training/corpora.js";

test("FNV-1a 32 matches the published test vectors", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(fnv1a32(enc("")), 0x811c9dc5);
  assert.equal(fnv1a32(enc("a")), 0xe40c292c);
  assert.equal(fnv1a32(enc("foobar")), 0xbf9cf968);
});

test("features are presence bits of lower-cased ASCII words", () => {
  const f = spamFeatures("FREE free Free!!! money");
  assert.equal(f.length, SPAM_FEATURIZER.buckets);
  assert.equal(
    f.reduce((a, b) => a + b, 0),
    2,
  );
  assert.equal(f[fnv1a32(new TextEncoder().encode("free")) % 1024], 1);
  assert.deepEqual(spamFeatures(""), new Float32Array(1024));
});

test("an e-mail keeps its subject (folded lines joined) and body, not relay headers", () => {
  const raw = "Received: from x by y\nSubject: Win a\n  prize now\nFrom: a@b\n\nBody text here.\n";
  assert.equal(messageText(raw), "Win a prize now\n\nBody text here.");
  assert.equal(messageText("Subject: only headers"), "only headers");
});
