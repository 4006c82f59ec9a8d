import { pino } from "pino";
import { describe, expect, it } from "vitest";

import { ApiConnectionError, LeaseLostError } from "../../../runner/client.js";
import { createLogShipper } from "../../../runner/dispatch/log-shipper.js";
import type { AppendLogRequest } from "../../../src/protocol/index.js";

function fakeApi(failures: ("network" | "lost")[] = []) {
  const requests: AppendLogRequest[] = [];
  const stored = new Map<number, string>();
  return {
    requests,
    stored,
    api: {
      async appendLog(_jobId: number, request: AppendLogRequest) {
        requests.push(structuredClone(request));
        const failure = failures.shift();
        if (failure === "network") throw new ApiConnectionError("http://app", "down");
        if (failure === "lost") throw new LeaseLostError(1, 409, "stale-lease", "stale");
        for (const chunk of request.chunks)
          if (!stored.has(chunk.seq)) stored.set(chunk.seq, chunk.text);
        return {
          appended: request.chunks.map((chunk) => chunk.seq),
          duplicates: [],
          dropped: [],
          truncated: false,
        };
      },
    },
  };
}

const log = pino({ level: "silent" });

describe("createLogShipper", () => {
  it("numbers chunks, cuts them at line ends and redacts the runner's own lines", async () => {
    const { api, stored } = fakeApi();
    const shipper = createLogShipper({
      api,
      jobId: 1,
      leaseToken: "lease",
      secrets: () => ["ghs_secret_value"],
      maxBodyBytes: 4_096,
      maxChunkBytes: 300,
      flushIntervalMs: 3_600_000,
      log,
    });

    for (let i = 0; i < 10; i++) shipper.write(`${String(i).repeat(99)}\n`);
    shipper.note("token ghs_secret_value used");
    await shipper.close();

    const seqs = [...stored.keys()];
    expect(seqs).toEqual(seqs.map((_, index) => index));
    const text = [...stored.values()].join("");
    expect(text).toContain("[kanbot-runner] token [REDACTED] used\n");
    expect([...stored.values()].every((chunk) => chunk.endsWith("\n"))).toBe(true);
    expect(text.split("\n")).toHaveLength(12);
  });

  it("keeps chunks across a network error and sends them again with the same numbers", async () => {
    const { api, requests, stored } = fakeApi(["network"]);
    const shipper = createLogShipper({
      api,
      jobId: 1,
      leaseToken: "lease",
      secrets: () => [],
      maxBodyBytes: 4_096,
      flushIntervalMs: 3_600_000,
      log,
    });

    shipper.write("first\n");
    await shipper.flush();
    shipper.write("second\n");
    await shipper.close();

    expect(requests.map((request) => request.chunks.map((chunk) => chunk.seq))).toEqual([
      [0],
      [0, 1],
    ]);
    expect([...stored.values()]).toEqual(["first\n", "second\n"]);
  });

  it("stops sending once the lease is lost", async () => {
    const { api, requests } = fakeApi(["lost"]);
    const shipper = createLogShipper({
      api,
      jobId: 1,
      leaseToken: "lease",
      secrets: () => [],
      maxBodyBytes: 4_096,
      flushIntervalMs: 3_600_000,
      log,
    });

    shipper.write("first\n");
    await shipper.flush();
    shipper.write("second\n");
    await shipper.close();

    expect(requests).toHaveLength(1);
  });
});
