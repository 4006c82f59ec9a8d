import { pino } from "pino";
import { describe, expect, it } from "vitest";

import { ApiConnectionError, ApiError, RunnerTokenRevokedError } from "../../../runner/client.js";
import { ClaimRefusedError, runListener } from "../../../runner/dispatch/listener.js";
import type { ClaimResponse } from "../../../src/protocol/index.js";

type Step = "fail" | "none" | "job" | "revoked" | "refused";

/** A claim API that answers from a script; when the script ends, it stops the listener. */
function scripted(steps: Step[], stop: AbortController) {
  const calls: unknown[] = [];
  let next = 0;
  return {
    calls,
    api: {
      async claim(request: unknown): Promise<ClaimResponse | undefined> {
        calls.push(request);
        const step = steps[next++];
        if (next >= steps.length) stop.abort();
        switch (step) {
          case "fail":
            throw new ApiConnectionError("http://app", "cannot reach the kanbot app");
          case "revoked":
            throw new RunnerTokenRevokedError(401, "unauthorized", "revoked");
          case "refused":
            throw new ApiError(400, "bad-request", "agents: codex not registered");
          case "job":
            return { job: { id: next, kind: "implement" } } as unknown as ClaimResponse;
          default:
            return undefined;
        }
      },
    },
  };
}

function capture() {
  const lines: { msg: string; level: number }[] = [];
  const log = pino(
    { level: "debug" },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { lines, log };
}

const dispatcher = {
  dispatched: [] as number[],
  freeSlots: () => 1,
  waitForSlot: async () => undefined,
  dispatch(claim: ClaimResponse) {
    dispatcher.dispatched.push(claim.job.id);
    return Promise.resolve({ jobId: claim.job.id, result: "completed" as const });
  },
};

describe("runListener", () => {
  it("logs one line per error streak and one on reconnect, backing off in between", async () => {
    const stop = new AbortController();
    const { api } = scripted(["fail", "fail", "fail", "none", "fail", "fail", "none"], stop);
    const { lines, log } = capture();
    const waits: number[] = [];

    const result = await runListener({
      api,
      dispatcher,
      signal: stop.signal,
      log,
      backoff: { initialMs: 100, maxMs: 1_000, random: () => 0 },
      sleep: async (ms) => void waits.push(ms),
    });

    expect(result.why).toBe("stopped");
    expect(waits).toEqual([50, 100, 200, 50, 100]);
    expect(lines.map((line) => line.msg)).toEqual([
      "cannot claim jobs from the app; retrying with backoff",
      "reconnected to the app",
      "cannot claim jobs from the app; retrying with backoff",
      "reconnected to the app",
    ]);
  });

  it("stops after --max-jobs claims", async () => {
    const stop = new AbortController();
    const { api, calls } = scripted(["none", "job", "job", "job"], stop);
    dispatcher.dispatched = [];

    const result = await runListener({
      api,
      dispatcher,
      maxJobs: 2,
      signal: stop.signal,
      log: capture().log,
    });

    expect(result).toEqual({ claimed: 2, why: "max-jobs" });
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual({ freeSlots: 1, waitSeconds: 30 });
  });

  it.each([
    ["a revoked runner token", "revoked", RunnerTokenRevokedError],
    ["a refused claim (agents not registered)", "refused", ClaimRefusedError],
  ] as const)("stops on %s", async (_name, step, error) => {
    const stop = new AbortController();
    const { api } = scripted(["fail", step, "none"], stop);

    await expect(
      runListener({
        api,
        dispatcher,
        signal: stop.signal,
        log: capture().log,
        sleep: async () => undefined,
      }),
    ).rejects.toBeInstanceOf(error);
  });
});
