import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultQueuePrefix, loadConfig } from "../../src/config/config.js";

describe("the default Redis queue prefix", () => {
  it("differs between deployments and is shared by a gateway and its workers on the same store", () => {
    const a = defaultQueuePrefix({ PROOFGATE_DATA_DIR: "/srv/a" });
    assert.notEqual(a, defaultQueuePrefix({ PROOFGATE_DATA_DIR: "/srv/b" }));
    assert.equal(a, defaultQueuePrefix({ PROOFGATE_DATA_DIR: "/srv/a/" }));
    const pg = defaultQueuePrefix({ DATABASE_URL: "postgres://gateway:secret@db.internal:5432/proofs" });
    // a worker with its own credentials on the same database joins the same queue
    assert.equal(pg, defaultQueuePrefix({ DATABASE_URL: "postgres://worker:other@db.internal/proofs" }));
    assert.notEqual(pg, defaultQueuePrefix({ DATABASE_URL: "postgres://gateway:secret@db.internal:5432/other" }));
    assert.notEqual(
      pg,
      defaultQueuePrefix({
        DATABASE_URL: "postgres://gateway:secret@db.internal:5432/proofs",
        PROOFGATE_DB_SCHEMA: "tenant2",
      }),
    );
    assert.ok(!pg.includes("secret") && /^proofgate-[0-9a-f]{12}$/.test(pg));
  });

  it("an explicit PROOFGATE_QUEUE_PREFIX wins; a DATABASE_URL that is no URL is one clear error", () => {
    assert.equal(loadConfig({ PROOFGATE_QUEUE_PREFIX: "mine" }).queuePrefix, "mine");
    assert.throws(() => loadConfig({ DATABASE_URL: "not a url" }), /DATABASE_URL is not a URL/);
  });
});
