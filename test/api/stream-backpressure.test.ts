/**
 * A client that opens a stream and stops reading is dropped once it is MAX_UNREAD_BYTES behind, and
 * its batch slot goes to the next request, instead of the server buffering its whole answer.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { until } from "../fixtures/until.js";
import { postJson, startTestGateway, type TestGateway } from "./gateway-fixture.js";

describe("streams and slow readers", () => {
  let gw: TestGateway;
  before(async () => {
    // room for an answer (16 × 4096 tokens × 21 alternatives, ~80 MB) no kernel socket buffer absorbs;
    // the request's seed fixes its length (an unseeded one could end at EOT early, and fit)
    gw = await startTestGateway({ maxBatchSize: 16, maxWaiting: 0, maxResponseTokens: 2_000_000 });
  });
  after(() => gw.close());

  it("a stream nobody reads is dropped, not buffered whole, and frees its slot", async () => {
    const body = JSON.stringify({
      model: "pg-teacher",
      messages: [{ role: "user", content: "Go on" }],
      max_tokens: 4096,
      n: 16,
      logprobs: true,
      top_logprobs: 20,
      stream: true,
      seed: 7,
    });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${gw.url}/v1/chat/completions`,
        { method: "POST", headers: { "content-type": "application/json" } },
        resolve,
      );
      req.on("error", reject);
      req.end(body);
    });
    response.pause(); // read nothing for now: the answer piles up on the server's side
    // the slot is held while the stream runs, and comes free once the server has dropped the reader
    const chat = () =>
      postJson(`${gw.url}/v1/chat/completions`, {
        model: "pg-teacher",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 1,
      });
    const next = await until(
      async () => (await chat()).status,
      (s) => s !== 429,
      { what: "the stalled stream's slot to come free" },
    );
    assert.equal(next, 200);
    const received = await new Promise<string>((resolve) => {
      let tail = "";
      response.on("data", (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-64);
      });
      for (const event of ["end", "error", "aborted", "close"]) response.on(event, () => resolve(tail));
      response.resume();
    });
    assert.ok(!received.includes("data: [DONE]"), "the whole answer was buffered and sent");
  });
});
