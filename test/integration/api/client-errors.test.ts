import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ApiConnectionError, ApiError, RunnerApiClient } from "../../../runner/client.js";

describe("runner API client errors", () => {
  it("reports an app that does not answer as ApiConnectionError, without the token", async () => {
    const server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = new RunnerApiClient({
      baseUrl: `http://127.0.0.1:${port}`,
      token: "kbr_secret",
      timeoutMs: 100,
    });

    try {
      const attempt = client.heartbeat(1, { leaseToken: "kbl_secret" });

      await expect(attempt).rejects.toBeInstanceOf(ApiConnectionError);
      await expect(attempt).rejects.toThrow(/no answer within 100 ms/);
      await attempt.catch((error: Error) => expect(error.message).not.toMatch(/secret/));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("refuses to send a request the protocol rejects", async () => {
    const client = new RunnerApiClient({ baseUrl: "http://127.0.0.1:9", token: "kbr_x" });

    const attempt = client.appendLog(1, { leaseToken: "kbl_x", chunks: [] });

    await expect(attempt).rejects.toBeInstanceOf(ApiError);
    await expect(attempt).rejects.toThrow(/refusing to send an invalid request/);
  });

  it("reports an answer that does not match the protocol", async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"nope":1}'),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = new RunnerApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: "kbr_x" });

    try {
      await expect(client.heartbeat(1, { leaseToken: "kbl_x" })).rejects.toMatchObject({
        status: 200,
        code: "unexpected-response",
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
