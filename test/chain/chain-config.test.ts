import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { after, before, test } from "node:test";
import { encryptKeystoreJsonSync, Wallet } from "ethers";
import { pino } from "pino";
import { ANVIL_DEV_KEY, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { openChain } from "../../src/chain/chain-connection.js";
import { loadConfig } from "../../src/config/config.js";
import { Secret, urlForLogs, withoutUrl } from "../../src/core/secret.js";

const KEY = `0x${"ab".repeat(32)}`;
let anvil: Anvil;

before(async () => {
  anvil = await startAnvil();
});
after(() => anvil.stop());

test("chain settings: defaults, and each bad value named without echoing a key", () => {
  const config = loadConfig({});
  assert.equal(config.submitPolicy, "all");
  assert.equal(config.rpcUrl, null);
  assert.equal(config.oracleFeeWei, 10n ** 15n);
  assert.throws(() => loadConfig({ PROOFGATE_SUBMIT: "sometimes" }), /PROOFGATE_SUBMIT must be all, none or requested/);
  assert.throws(() => loadConfig({ RPC_URL: "http://127.0.0.1:1" }), /RPC_URL needs PRIVATE_KEY or PROOFGATE_KEYSTORE/);
  assert.equal(loadConfig({ RPC_URL: "http://127.0.0.1:1", PROOFGATE_SUBMIT: "none" }).rpcUrl, "http://127.0.0.1:1");
  const bad = "0x1234deadbeef";
  assert.throws(
    () => loadConfig({ PRIVATE_KEY: bad }),
    (err: Error) => /PRIVATE_KEY must be 32 bytes of hex/.test(err.message) && !err.message.includes(bad),
  );
  assert.throws(() => loadConfig({ PROOFGATE_KEYSTORE: "/tmp/ks.json" }), /needs PROOFGATE_KEYSTORE_PASSWORD/);
  assert.throws(() => loadConfig({ PROOFGATE_ORACLE_FEE_WEI: "1e18" }), /whole number of wei/);
  assert.equal(config.oracleFeePerGasWei, 5n * 10n ** 10n);
  assert.equal(config.oracleFeeMargin, 1.2);
  assert.equal(config.timelockDelayS, 2 * 24 * 3600);
  assert.equal(
    loadConfig({
      PROOFGATE_ORACLE_FEE_PER_GAS_WEI: "7",
      PROOFGATE_ORACLE_FEE_MARGIN: "1.5",
      PROOFGATE_TIMELOCK_DELAY_S: "0",
    }).oracleFeeMargin,
    1.5,
  );
  assert.throws(
    () => loadConfig({ PROOFGATE_ORACLE_FEE_PER_GAS_WEI: "-1" }),
    /PROOFGATE_ORACLE_FEE_PER_GAS_WEI must be a whole number of wei/,
  );
  assert.throws(
    () => loadConfig({ PROOFGATE_ORACLE_FEE_MARGIN: "0.9" }),
    /PROOFGATE_ORACLE_FEE_MARGIN must be a number >= 1/,
  );
  assert.throws(
    () => loadConfig({ PROOFGATE_TIMELOCK_DELAY_S: "two days" }),
    /PROOFGATE_TIMELOCK_DELAY_S must be an integer >= 0/,
  );
});

test("a key in the config never prints: JSON, inspect and string conversion all redact it", () => {
  const config = loadConfig({ RPC_URL: "http://127.0.0.1:1", PRIVATE_KEY: KEY });
  const printed = [
    JSON.stringify(config, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    inspect(config, { depth: 10 }),
    `${(config.chainSigner as { privateKey: Secret }).privateKey}`,
  ];
  for (const text of printed) {
    assert.ok(!text.includes(KEY.slice(2)), text);
    assert.match(text, /\[redacted\]/);
  }
  assert.equal(new Secret("s").reveal(), "s");
  assert.equal(urlForLogs("https://eth.example.com/v3/0123456789abcdef?key=secret"), "https://eth.example.com");
  assert.equal(urlForLogs("redis://:hunter2@cache.internal:6379/0"), "redis://cache.internal:6379");
  assert.equal(
    withoutUrl(
      "could not reach https://user:pw@eth.example.com/v3/abc (GET /v3/abc)",
      "https://user:pw@eth.example.com/v3/abc",
    ),
    "could not reach https://eth.example.com (GET ***)",
  );
});

test("RPC_URL with PRIVATE_KEY signs as that key; with a keystore, as the keystore's account", async () => {
  const logger = pino({ level: "silent" });
  const devAccount = new Wallet(ANVIL_DEV_KEY).address;
  const byKey = await openChain(loadConfig({ RPC_URL: anvil.url, PRIVATE_KEY: ANVIL_DEV_KEY }), logger);
  assert.equal(byKey?.address, devAccount);
  assert.equal(byKey?.chainId, 31337);
  assert.equal(byKey?.anvil, null, "an RPC_URL chain is not spawned");
  await byKey?.close();

  const dir = mkdtempSync(join(tmpdir(), "pg-keystore-"));
  const wallet = Wallet.createRandom();
  // a light scrypt keeps the test fast; the format is the standard encrypted JSON keystore
  writeFileSync(
    join(dir, "key.json"),
    encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, "pw", {
      scrypt: { N: 1 << 10 },
    }),
  );
  const byKeystore = await openChain(
    loadConfig({ RPC_URL: anvil.url, PROOFGATE_KEYSTORE: join(dir, "key.json"), PROOFGATE_KEYSTORE_PASSWORD: "pw" }),
    logger,
  );
  assert.equal(byKeystore?.address, wallet.address);
  await byKeystore?.close();
  await assert.rejects(
    openChain(
      loadConfig({
        RPC_URL: anvil.url,
        PROOFGATE_KEYSTORE: join(dir, "key.json"),
        PROOFGATE_KEYSTORE_PASSWORD: "wrong",
      }),
      logger,
    ),
    /cannot open the keystore/,
  );
  assert.equal(
    await openChain(loadConfig({ PROOFGATE_SUBMIT: "none" }), logger),
    null,
    "no chain when nothing is submitted",
  );
});

test("a chain that fails at start is named by its host: the RPC_URL's credentials and API key stay out of the error", async () => {
  // answers every request, but not as a JSON-RPC node would
  const server = createServer((_req, res) => res.end("{}"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const logger = pino({ level: "silent" });
  try {
    for (const url of [
      `http://alice:s3cret-pw@127.0.0.1:${port}/v3/apikey0123456789`,
      "http://bob:0ther-pw@127.0.0.1:1/v3/apikey0123456789?token=t0ken",
    ]) {
      await assert.rejects(openChain(loadConfig({ RPC_URL: url, PRIVATE_KEY: KEY }), logger), (err: Error) => {
        for (const secret of ["s3cret-pw", "0ther-pw", "apikey0123456789", "t0ken"])
          assert.ok(!err.message.includes(secret), err.message);
        assert.match(err.message, /^chain at http:\/\/127\.0\.0\.1:\d+: /);
        return true;
      });
    }
  } finally {
    server.close();
  }
});
