/** The Redis probe against fake servers on free ports: runs anywhere, no Redis needed. */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { isRedisReachable, probeRedis } from "../../src/jobs/redis-available.js";

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A TCP server on a free port that answers each received chunk with `answer(chunk)`; null stays silent. */
async function fakeServer(answer: (received: string) => string | null): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on("data", (chunk) => {
      const reply = answer(chunk.toString());
      if (reply !== null) socket.write(reply);
    });
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test("a server answering PONG is reachable; AUTH and SELECT go first when the URL asks", async () => {
  let received = "";
  const url = await fakeServer((chunk) => {
    received += chunk;
    return "+OK\r\n+OK\r\n+PONG\r\n";
  });
  const withAuth = `${url.replace("redis://", "redis://proofs:s%40cret@")}/2`;
  assert.deepEqual(await probeRedis(withAuth, 1000), { reachable: true, reason: null });
  assert.equal(
    received,
    "*3\r\n$4\r\nAUTH\r\n$6\r\nproofs\r\n$6\r\ns@cret\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$4\r\nPING\r\n",
  );
});

test("an error reply, silence, a closed port and a bad URL are each unreachable, with a reason", async () => {
  const noauth = await fakeServer(() => "-NOAUTH Authentication required.\r\n");
  const result = await probeRedis(noauth, 1000);
  assert.equal(result.reachable, false);
  assert.match(result.reason!, /NOAUTH/);

  const silent = await fakeServer(() => null);
  const silence = await probeRedis(silent, 200);
  assert.equal(silence.reachable, false);
  assert.match(silence.reason!, /no answer from .* within 200 ms/); // the probe's own timeout answered

  assert.equal(await isRedisReachable("redis://127.0.0.1:1", 500), false);
  assert.equal((await probeRedis("http://127.0.0.1:6379")).reachable, false);
  assert.equal((await probeRedis("not a url")).reachable, false);
});
