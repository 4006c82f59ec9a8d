import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.js";

describe("runner API: bad requests", () => {
  let h: Harness;
  let auth: Record<string, string>;
  let jobId: number;
  let lease: string;
  beforeEach(async () => {
    h = await startHarness({ limits: { maxBodyBytes: 1024 } });
    const runner = await h.registerRunner();
    auth = { authorization: `Bearer ${runner.token}` };
    jobId = await h.queueJob();
    lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ["a heartbeat without a lease token", "heartbeat", {}, "leaseToken"],
    [
      "a log chunk with a negative sequence number",
      "log",
      { chunks: [{ seq: -1, text: "x" }] },
      "chunks[0].seq",
    ],
    [
      "a log upload with a repeated sequence number",
      "log",
      {
        chunks: [
          { seq: 1, text: "a" },
          { seq: 1, text: "b" },
        ],
      },
      "chunks",
    ],
    [
      "a success without a head SHA",
      "complete",
      { outcome: { status: "succeeded", summary: "done" } },
      "outcome.headSha",
    ],
    ["an unknown outcome", "complete", { outcome: { status: "exploded" } }, "outcome.status"],
    [
      "a failure without error text",
      "complete",
      { outcome: { status: "failed", error: "" } },
      "outcome.error",
    ],
  ])("answers 400 naming the field for %s", async (_what, call, body, field) => {
    const answer = await h.post(
      `/api/v1/jobs/${jobId}/${call}`,
      JSON.stringify({
        leaseToken: lease,
        ...body,
        ...(field === "leaseToken" ? { leaseToken: undefined } : {}),
      }),
      auth,
    );

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: {
        code: "bad-request",
        message: expect.stringContaining(field),
        issues: expect.arrayContaining([expect.objectContaining({ path: field })]),
      },
    });
  });

  it("answers 400 for a registration with a bad repository name", async () => {
    const answer = await h.post(
      "/api/v1/runners",
      JSON.stringify({
        registrationToken: "kbreg_x",
        name: "r",
        agents: ["claude"],
        repos: ["not a repo"],
      }),
    );

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { issues: [{ path: "repos[0]", message: "expected a repository as owner/name" }] },
    });
  });

  it("answers 400 for a body that is not JSON", async () => {
    const answer = await h.post(`/api/v1/jobs/${jobId}/heartbeat`, "{not json", auth);

    expect(answer).toMatchObject({
      status: 400,
      body: { error: { message: "the request body is not valid JSON" } },
    });
  });

  it("answers 413 for a body over the limit, and 415 for a body that is not declared JSON", async () => {
    const huge = JSON.stringify({
      leaseToken: lease,
      chunks: [{ seq: 0, text: "x".repeat(2048) }],
    });

    const tooLarge = await h.post(`/api/v1/jobs/${jobId}/log`, huge, auth);
    const notJson = await h.post(`/api/v1/jobs/${jobId}/heartbeat`, "leaseToken=x", {
      ...auth,
      "content-type": "application/x-www-form-urlencoded",
    });

    expect(tooLarge).toMatchObject({
      status: 413,
      body: { error: { code: "payload-too-large", message: /1024 bytes/ } },
    });
    expect(notJson).toMatchObject({
      status: 415,
      body: { error: { code: "unsupported-media-type" } },
    });
    expect(await h.store.readLog(jobId)).toEqual([]);
  });

  it("answers 404 for an unknown path under /api/v1 and 405 for a wrong method", async () => {
    const unknown = await h.post("/api/v1/jobs/1/push", "{}", auth);
    const wrongMethod = await h.post("/api/v1/jobs/claim", "", auth, "GET");
    const badId = await h.post("/api/v1/jobs/abc/heartbeat", "{}", auth);

    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "not-found" } } });
    expect(wrongMethod).toMatchObject({
      status: 405,
      body: { error: { code: "method-not-allowed" } },
    });
    expect(badId).toMatchObject({ status: 404 });
  });

  it("leaves paths outside /api/v1 to the next handler", async () => {
    const handled = await h.api.handler(
      { url: "/api/github/webhooks", method: "POST", headers: {} } as never,
      {} as never,
    );

    expect(handled).toBe(false);
  });
});
