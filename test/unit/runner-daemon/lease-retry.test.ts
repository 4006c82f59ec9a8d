// Job calls ride out app blips while the lease lasts: the client retries what is safe to repeat
// and only that, and gives up with LeaseExpiredError when the lease the caller knows of is over;
// the dispatcher gives a job up without pushing once the lease time has passed with no answer.
import { pino } from "pino";
import { describe, expect, it } from "vitest";

import {
  ApiError,
  LeaseExpiredError,
  LeaseLostError,
  RunnerApiClient,
  RunnerTokenRevokedError,
  type LeaseRetry,
} from "../../../runner/client.js";
import { createDispatcher } from "../../../runner/dispatch/dispatcher.js";
import type { JobResult } from "../../../runner/job-control.js";
import { API_PATHS, type ClaimResponse } from "../../../src/protocol/index.js";

/** One scripted answer of the fake app: unreachable, or a status with a body. */
type Answer = "down" | { status: number; body?: unknown };

const FAST = { initialMs: 2, maxMs: 8, random: () => 0.5 };
const log = pino({ level: "silent" });

function errorBody(code: string, message = code) {
  return { error: { code, message } };
}

const TOKEN_OK = {
  status: 200,
  body: {
    token: "ghs_job_token",
    expiresAt: "2030-01-01T00:00:00.000Z",
    repository: "acme/app",
    permissions: { contents: "write" },
  },
};

/** A `fetch` that answers each call from `script` (the last entry repeats), recording paths. */
function fakeFetch(script: (path: string, call: number) => Answer) {
  const paths: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    const path = new URL(String(input)).pathname;
    paths.push(path);
    const answer = script(path, paths.filter((seen) => seen === path).length);
    if (answer === "down") {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), {
          code: "ECONNREFUSED",
        }),
      });
    }
    return new Response(answer.body === undefined ? "" : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": "application/json" },
    });
  }) as typeof globalThis.fetch;
  return { fetch, paths };
}

function client(fetch: typeof globalThis.fetch) {
  return new RunnerApiClient({ baseUrl: "http://app", token: "kbr_x", fetch, retryBackoff: FAST });
}

function lease(remainingMs: () => number = () => 60_000) {
  const retries: string[] = [];
  const retry: LeaseRetry = {
    remainingMs,
    onRetry: (error) => retries.push(error.message),
  };
  return { retry, retries };
}

describe("job calls given the lease's time", () => {
  it.each<[string, Answer]>([
    ["unreachable", "down"],
    ["a proxy's 502 with no body", { status: 502 }],
    ["503", { status: 503, body: "<html>Service Unavailable</html>" }],
    ["the app's 500", { status: 500, body: errorBody("internal") }],
    ["408", { status: 408 }],
    ["429", { status: 429 }],
  ])("retry after %s until the app answers", async (_name, blip) => {
    const { fetch, paths } = fakeFetch((_path, call) => (call <= 2 ? blip : TOKEN_OK));
    const { retry, retries } = lease();

    const answer = await client(fetch).jobToken(7, { leaseToken: "kbl_x" }, { retry });

    expect(answer.token).toBe("ghs_job_token");
    expect(paths).toEqual([API_PATHS.token(7), API_PATHS.token(7), API_PATHS.token(7)]);
    expect(retries).toHaveLength(2);
  });

  it.each<[string, Answer, new (...args: never[]) => Error]>([
    ["400", { status: 400, body: errorBody("bad-request") }, ApiError],
    ["403", { status: 403, body: errorBody("forbidden") }, ApiError],
    ["the app's 502 github-error", { status: 502, body: errorBody("github-error") }, ApiError],
    ["401", { status: 401, body: errorBody("unauthorized") }, RunnerTokenRevokedError],
    ["409", { status: 409, body: errorBody("stale-lease") }, LeaseLostError],
    ["404", { status: 404, body: errorBody("not-found") }, LeaseLostError],
  ])("do not retry %s", async (_name, answer, type) => {
    const { fetch, paths } = fakeFetch(() => answer);
    const { retry, retries } = lease();

    const attempt = client(fetch).jobToken(7, { leaseToken: "kbl_x" }, { retry });

    await expect(attempt).rejects.toBeInstanceOf(type);
    await expect(attempt).rejects.not.toBeInstanceOf(LeaseExpiredError);
    expect(paths).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("give up with LeaseExpiredError once the lease's time is over", async () => {
    const { fetch, paths } = fakeFetch(() => ({ status: 503 }));
    // The lease ends after the third attempt.
    const { retry } = lease(() => (paths.length < 3 ? 60_000 : 0));

    const attempt = client(fetch).complete(
      7,
      { leaseToken: "kbl_x", outcome: { status: "failed", error: "boom" } },
      { retry },
    );

    await expect(attempt).rejects.toBeInstanceOf(LeaseExpiredError);
    await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    await expect(attempt).rejects.toMatchObject({ lastError: { status: 503 } });
    expect(paths).toHaveLength(3);
  });

  it("send nothing when the lease has ended already", async () => {
    const { fetch, paths } = fakeFetch(() => TOKEN_OK);

    const attempt = client(fetch).jobToken(
      7,
      { leaseToken: "kbl_x" },
      { retry: lease(() => 0).retry },
    );

    await expect(attempt).rejects.toBeInstanceOf(LeaseExpiredError);
    expect(paths).toEqual([]);
  });

  it("stop retrying when the caller aborts, with the caller's reason", async () => {
    const { fetch, paths } = fakeFetch(() => "down");
    const gone = new AbortController();
    const reason = new LeaseLostError(7, 409, "stale-lease", "the lease on job 7 is gone");
    const retry: LeaseRetry = {
      remainingMs: () => 60_000,
      onRetry: (_error, failures) => {
        if (failures === 2) gone.abort(reason);
      },
    };

    const attempt = client(fetch).heartbeat(
      7,
      { leaseToken: "kbl_x" },
      { retry, signal: gone.signal },
    );

    await expect(attempt).rejects.toBe(reason);
    expect(paths).toHaveLength(2);
  });

  it("are not retried without the lease's time (as before)", async () => {
    const { fetch, paths } = fakeFetch(() => ({ status: 503 }));

    await expect(client(fetch).jobToken(7, { leaseToken: "kbl_x" })).rejects.toMatchObject({
      status: 503,
    });
    expect(paths).toHaveLength(1);
  });
});

function claim(durationSeconds: number): ClaimResponse {
  return {
    job: {
      id: 7,
      kind: "implement",
      agent: "claude",
      repository: { fullName: "acme/app" },
      limits: { maxBodyBytes: 64 * 1024 },
    },
    lease: { token: "kbl_x", expiresAt: "2030-01-01T00:00:00.000Z", durationSeconds },
  } as unknown as ClaimResponse;
}

/** A job whose work is done and needs only a token and the lease to push, as job-runner.ts does. */
function finishedWork() {
  const seen = { pushed: false, tokenError: undefined as unknown };
  const runJob = async (
    _claim: ClaimResponse,
    control: Parameters<Parameters<typeof createDispatcher>[0]["runJob"]>[1],
  ): Promise<JobResult> => {
    try {
      await control.jobToken();
    } catch (error) {
      seen.tokenError = error;
      if (error instanceof LeaseLostError) return { kind: "lease-lost" };
      throw error;
    }
    if (!(await control.canPush())) return { kind: "lease-lost" };
    seen.pushed = true;
    return {
      kind: "outcome",
      outcome: { status: "succeeded", headSha: "a".repeat(40), summary: "done" },
    };
  };
  return { seen, runJob };
}

describe("a job whose app is away", () => {
  it("is given up without pushing when the lease's time passes with no answer", async () => {
    const { fetch, paths } = fakeFetch(() => "down");
    const { seen, runJob } = finishedWork();
    const dispatcher = createDispatcher({
      api: client(fetch),
      concurrency: 1,
      runJob,
      heartbeatIntervalMs: 20,
      logFlushIntervalMs: 20,
      log,
    });

    const done = await dispatcher.dispatch(claim(0.2));

    expect(done.result).toBe("lease-lost");
    expect(seen.tokenError).toBeInstanceOf(LeaseLostError);
    expect(seen.pushed).toBe(false);
    expect(paths).toContain(API_PATHS.token(7));
    expect(paths).not.toContain(API_PATHS.complete(7));
  });

  it("pushes and reports once the app answers again", async () => {
    const { fetch, paths } = fakeFetch((path, call) => {
      if (path === API_PATHS.token(7)) return call <= 3 ? "down" : TOKEN_OK;
      if (path === API_PATHS.heartbeat(7))
        return {
          status: 200,
          body: { leaseExpiresAt: "2030-01-01T00:00:00.000Z", canceled: false },
        };
      if (path === API_PATHS.complete(7)) {
        if (call <= 2) return { status: 503 };
        return {
          status: 200,
          body: { jobId: 7, status: "succeeded", finishedAt: "2030-01-01T00:00:00.000Z" },
        };
      }
      return {
        status: 200,
        body: { appended: [], duplicates: [], dropped: [], truncated: false },
      };
    });
    const { seen, runJob } = finishedWork();
    const dispatcher = createDispatcher({
      api: client(fetch),
      concurrency: 1,
      runJob,
      heartbeatIntervalMs: 3_600_000,
      logFlushIntervalMs: 3_600_000,
      log,
    });

    const done = await dispatcher.dispatch(claim(60));

    expect(done.result).toBe("completed");
    expect(seen.pushed).toBe(true);
    expect(paths.filter((path) => path === API_PATHS.token(7))).toHaveLength(4);
    expect(paths.filter((path) => path === API_PATHS.complete(7))).toHaveLength(3);
  });
});
