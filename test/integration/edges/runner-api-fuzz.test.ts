/**
 * Runner API fuzz on a real HTTP server and SQLite store (test/integration/api/harness.ts):
 * out-of-range numbers, wrong types, bodies that are not objects and bodies over the cap each
 * get a 4xx naming the problem, never a 500, and the job they were about is untouched: a good
 * completion afterwards is accepted.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../api/harness.js";

const HEAD = "a".repeat(40);
const MAX_BODY_BYTES = 64 * 1024;

let h: Harness;
let auth: Record<string, string>;
let jobId: number;
let lease: string;
const statuses: number[] = [];

beforeAll(async () => {
  h = await startHarness({ limits: { maxBodyBytes: MAX_BODY_BYTES } });
  const runner = await h.registerRunner();
  auth = { authorization: `Bearer ${runner.token}` };
  jobId = await h.queueJob();
  lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
});

afterAll(async () => {
  await h.close();
});

async function call(
  path: string,
  body: unknown,
  raw = false,
): Promise<{ status: number; body: unknown }> {
  const answer = await h.post(path, raw ? (body as string) : JSON.stringify(body), auth);
  statuses.push(answer.status);
  return answer;
}

function completion(outcome: Record<string, unknown>): unknown {
  return { leaseToken: lease, outcome };
}

const succeeded = { status: "succeeded", headSha: HEAD, summary: "done" };

describe("runner API fuzz", () => {
  it.each([
    [
      "durationSeconds 1e308",
      completion({ ...succeeded, durationSeconds: 1e308 }),
      "outcome.durationSeconds",
    ],
    [
      "durationSeconds of 32 days",
      completion({ ...succeeded, durationSeconds: 32 * 86_400 }),
      "outcome.durationSeconds",
    ],
    [
      "a negative durationSeconds",
      completion({ ...succeeded, durationSeconds: -1 }),
      "outcome.durationSeconds",
    ],
    ["costUsd 1e12", completion({ ...succeeded, costUsd: 1e12 }), "outcome.costUsd"],
    ["costUsd as a string", completion({ ...succeeded, costUsd: "5" }), "outcome.costUsd"],
    [
      "a validation duration of 1e300",
      completion({
        ...succeeded,
        validation: [{ command: "npm test", exitCode: 0, passed: true, durationSeconds: 1e300 }],
      }),
      "outcome.validation[0].durationSeconds",
    ],
    [
      "an exit code of 2^40",
      completion({
        ...succeeded,
        validation: [{ command: "npm test", exitCode: 2 ** 40, passed: true, durationSeconds: 1 }],
      }),
      "outcome.validation[0].exitCode",
    ],
    [
      "a fractional exit code",
      completion({
        ...succeeded,
        validation: [{ command: "npm test", exitCode: 1.5, passed: false, durationSeconds: 1 }],
      }),
      "outcome.validation[0].exitCode",
    ],
    ["a head SHA that is a number", completion({ ...succeeded, headSha: 12 }), "outcome.headSha"],
    ["an outcome that is an array", { leaseToken: lease, outcome: [] }, "outcome"],
  ])("answers a completion with %s 400 naming the field", async (_what, body, field) => {
    const answer = await call(`/api/v1/jobs/${jobId}/complete`, body);

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain(`"path":"${field}"`);
  });

  it.each([
    ["a log sequence number of 2^31", { chunks: [{ seq: 2 ** 31, text: "x" }] }, "chunks[0].seq"],
    ["a log sequence number of 1e308", { chunks: [{ seq: 1e308, text: "x" }] }, "chunks[0].seq"],
    ["a log sequence number as a string", { chunks: [{ seq: "1", text: "x" }] }, "chunks[0].seq"],
    ["log text that is a number", { chunks: [{ seq: 0, text: 5 }] }, "chunks[0].text"],
  ])("answers a log upload with %s 400 naming the field", async (_what, body, field) => {
    const answer = await call(`/api/v1/jobs/${jobId}/log`, { leaseToken: lease, ...body });

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain(`"path":"${field}"`);
  });

  it.each([
    ["freeSlots 1e9", { freeSlots: 1e9 }, "freeSlots"],
    ["waitSeconds 1e308", { waitSeconds: 1e308 }, "waitSeconds"],
    ["a repository named ..", { repos: ["acme/.."] }, "repos[0]"],
  ])("answers a claim with %s 400 naming the field", async (_what, body, field) => {
    const answer = await call("/api/v1/jobs/claim", body);

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain(`"path":"${field}"`);
  });

  it.each([
    ["null", "null"],
    ["a string", '"x"'],
    ["an array", "[]"],
    ["a number", "7"],
    ["broken JSON", "{"],
  ])("answers a body that is %s 400", async (_what, body) => {
    for (const path of ["heartbeat", "log", "complete", "token"]) {
      const answer = await call(`/api/v1/jobs/${jobId}/${path}`, body, true);

      expect(answer.status, path).toBe(400);
    }
  });

  it.each([
    ["a job id past the safe integers", "/api/v1/jobs/99999999999999999999/complete"],
    ["a job id that is not a number", "/api/v1/jobs/1e3/complete"],
    ["a negative job id", "/api/v1/jobs/-1/complete"],
  ])("answers %s 404", async (_what, path) => {
    const answer = await call(path, completion(succeeded));

    expect(answer.status).toBe(404);
  });

  it("answers a body over the cap 413, declared or streamed, before reading it whole", async () => {
    const declared = await rawPost(`/api/v1/jobs/${jobId}/log`, 10 * MAX_BODY_BYTES, true);
    const streamed = await rawPost(`/api/v1/jobs/${jobId}/log`, 10 * MAX_BODY_BYTES, false);
    statuses.push(declared, streamed);

    expect(declared).toBe(413);
    expect(streamed).toBe(413);
  });

  it("never answered 500, and the job still takes a good completion", async () => {
    const job = await h.store.getJob(jobId);
    const answer = await call(
      `/api/v1/jobs/${jobId}/complete`,
      completion({ ...succeeded, durationSeconds: 120, costUsd: 0.5 }),
    );

    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    // Nothing above reached the job: it was still leased to the runner, unfinished.
    expect(job?.status).toBe("leased");
    expect(job?.finishedAt).toBeUndefined();
    expect(answer.status).toBe(200);
    expect((await h.store.getJob(jobId))?.status).toBe("succeeded");
  });
});

/** Posts `size` bytes of JSON-looking text, with or without `Content-Length`; the status. */
function rawPost(path: string, size: number, declare: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, h.baseUrl);
    const req = request({
      host: url.hostname,
      port: url.port,
      method: "POST",
      path: url.pathname,
      headers: {
        "content-type": "application/json",
        ...auth,
        ...(declare ? { "content-length": String(size) } : {}),
      },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    req.end(Buffer.alloc(size, 0x20));
  });
}
