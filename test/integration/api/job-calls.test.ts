import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError, LeaseLostError } from "../../../runner/client.js";
import type { Job } from "../../../src/store/index.js";
import { fakeBroker, startHarness, type FakeBroker, type Harness } from "./harness.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("runner API: job calls and lease fencing", () => {
  let h: Harness;
  let broker: FakeBroker;
  const finished: Job[] = [];
  beforeEach(async () => {
    broker = fakeBroker();
    finished.length = 0;
    h = await startHarness({ broker, events: { jobFinished: (job) => void finished.push(job) } });
  });
  afterEach(async () => {
    await h.close();
  });

  async function claimed() {
    const runner = await h.registerRunner();
    const jobId = await h.queueJob();
    const claim = await runner.client.claim({ waitSeconds: 0 });
    if (claim === undefined) throw new Error("expected a job");
    return { ...runner, jobId, lease: claim.lease.token };
  }

  describe("heartbeat", () => {
    it("extends the lease from the app's clock and records the phase", async () => {
      const { client, jobId, lease } = await claimed();
      h.clock.advance(30_000);

      const answer = await client.heartbeat(jobId, { leaseToken: lease, phase: "agent" });

      expect(answer).toEqual({ leaseExpiresAt: "2026-01-01T00:01:30.000Z", canceled: false });
      expect(await h.store.getJob(jobId)).toMatchObject({ phase: "agent" });
    });

    it("tells the runner when the job was canceled", async () => {
      const { client, jobId, lease } = await claimed();
      await h.store.cancelJob(jobId, "octocat");

      const answer = await client.heartbeat(jobId, { leaseToken: lease });

      expect(answer.canceled).toBe(true);
    });
  });

  describe("job token", () => {
    it("issues a token for the job's one repository and revokes it when the job completes", async () => {
      const { client, jobId, lease } = await claimed();

      const token = await client.jobToken(jobId, { leaseToken: lease });
      expect(broker.revoked).toEqual([]);
      await client.complete(jobId, { leaseToken: lease, outcome: { status: "canceled" } });

      expect(token).toMatchObject({
        repository: "acme/widgets",
        permissions: { contents: "write" },
      });
      expect(broker.issued).toEqual([
        { jobId, installationId: 4242, repo: "acme/widgets", token: token.token },
      ]);
      expect(broker.revoked).toEqual([jobId]);
      const actions = (await h.store.listAudit({ jobId })).map((entry) => entry.action);
      expect(actions).toEqual(expect.arrayContaining(["job.token-issued", "job.tokens-revoked"]));
      expect(JSON.stringify(await h.store.listAudit({ jobId }))).not.toContain(token.token);
    });
  });

  describe("log", () => {
    it("stores numbered chunks once: a repeated sequence number is ignored", async () => {
      const { client, jobId, lease } = await claimed();

      const first = await client.appendLog(jobId, {
        leaseToken: lease,
        chunks: [
          { seq: 1, text: "b\n" },
          { seq: 0, text: "a\n" },
        ],
      });
      const retry = await client.appendLog(jobId, {
        leaseToken: lease,
        chunks: [
          { seq: 1, text: "b\n" },
          { seq: 2, text: "c\n" },
        ],
      });

      expect(first).toEqual({ appended: [0, 1], duplicates: [], dropped: [], truncated: false });
      expect(retry).toEqual({ appended: [2], duplicates: [1], dropped: [], truncated: false });
      expect((await h.store.readLog(jobId)).map((chunk) => chunk.text).join("")).toBe("a\nb\nc\n");
    });

    it("redacts the job's live GitHub token from stored log text", async () => {
      const { client, jobId, lease } = await claimed();
      const { token } = await client.jobToken(jobId, { leaseToken: lease });

      await client.appendLog(jobId, {
        leaseToken: lease,
        chunks: [{ seq: 0, text: `push with ${token}\n` }],
      });

      expect((await h.store.readLog(jobId))[0]?.text).toBe("push with [redacted]\n");
    });

    it("stops storing a job's log at the size limit, behind a marker", async () => {
      const small = await startHarness({ limits: { jobLogMaxBytes: 10 } });
      try {
        const runner = await small.registerRunner();
        const jobId = await small.queueJob();
        const lease = (await runner.client.claim({ waitSeconds: 0 }))?.lease.token ?? "";

        const answer = await runner.client.appendLog(jobId, {
          leaseToken: lease,
          chunks: [
            { seq: 0, text: "12345" },
            { seq: 1, text: "6789abcdef" },
            { seq: 2, text: "more" },
          ],
        });

        expect(answer).toEqual({ appended: [0, 1], duplicates: [], dropped: [2], truncated: true });
        const text = (await small.store.readLog(jobId)).map((chunk) => chunk.text).join("");
        expect(text).toMatch(/^123456789a\n\[kanbot: the log reached its size limit/);
      } finally {
        await small.close();
      }
    });
  });

  describe("complete", () => {
    it("records the outcome once; a retried completion gets the same answer", async () => {
      const { client, jobId, lease } = await claimed();
      const request = {
        leaseToken: lease,
        outcome: {
          status: "succeeded" as const,
          headSha: SHA,
          summary: "Added widgets.",
          costUsd: 0.42,
          durationSeconds: 300,
          validation: [{ command: "npm test", exitCode: 0, passed: true, durationSeconds: 12 }],
        },
      };

      const first = await client.complete(jobId, request);
      const retry = await client.complete(jobId, request);

      expect(first).toEqual(retry);
      expect(first).toMatchObject({ jobId, status: "succeeded" });
      expect(await h.store.getJob(jobId)).toMatchObject({
        status: "succeeded",
        result: { headSha: SHA, summary: "Added widgets.", costUsd: 0.42 },
      });
      // The hook hears the retry too (it records the event idempotently, once per job).
      expect(finished.map((job) => job.id)).toEqual([jobId, jobId]);
    });

    it("keeps a failure's error text", async () => {
      const { client, jobId, lease } = await claimed();

      await client.complete(jobId, {
        leaseToken: lease,
        outcome: { status: "failed", error: "npm test failed" },
      });

      expect(await h.store.getJob(jobId)).toMatchObject({
        status: "failed",
        error: "npm test failed",
      });
    });

    it("refuses a different outcome from the same holder (409 already-finished)", async () => {
      const { client, jobId, lease } = await claimed();
      await client.complete(jobId, { leaseToken: lease, outcome: { status: "canceled" } });

      const other = client.complete(jobId, {
        leaseToken: lease,
        outcome: { status: "failed", error: "x" },
      });

      await expect(other).rejects.toMatchObject({ status: 409, code: "already-finished" });
    });
  });

  describe("fencing", () => {
    it("rejects a lost runner's calls (409) after another runner re-claimed the expired job, and revokes its token", async () => {
      const lost = await claimed();
      const rescuer = await h.registerRunner();
      await lost.client.jobToken(lost.jobId, { leaseToken: lost.lease });

      h.clock.advance(61_000);
      const sweep = await h.api.sweep();
      // The retry the task machine's job-lost queues.
      const lostJob = sweep.lost[0];
      if (lostJob === undefined) throw new Error("no lost job");
      const retry = await h.store.enqueueJob({ taskId: lostJob.taskId, kind: lostJob.kind });
      const reclaimed = await rescuer.client.claim({ waitSeconds: 0 });

      expect(broker.revoked).toEqual([lost.jobId]);
      expect(reclaimed?.job.id).toBe(retry.id);
      expect(reclaimed?.job.attempt).toBe(2);
      const calls = [
        lost.client.complete(lost.jobId, {
          leaseToken: lost.lease,
          outcome: { status: "succeeded", headSha: SHA, summary: "late" },
        }),
        lost.client.heartbeat(lost.jobId, { leaseToken: lost.lease }),
        lost.client.jobToken(lost.jobId, { leaseToken: lost.lease }),
        lost.client.appendLog(lost.jobId, {
          leaseToken: lost.lease,
          chunks: [{ seq: 0, text: "x" }],
        }),
      ];
      for (const call of calls) {
        await expect(call).rejects.toBeInstanceOf(LeaseLostError);
        await expect(call).rejects.toMatchObject({
          status: 409,
          code: "stale-lease",
          jobId: lost.jobId,
        });
      }
      expect(broker.issued).toHaveLength(1);
      expect(await h.store.getJob(lost.jobId)).toMatchObject({ status: "lost" });
      const rejected = await h.store.listAudit({
        jobId: lost.jobId,
        action: "job.stale-lease-rejected",
      });
      expect(rejected.map((entry) => entry.detail)).toEqual(
        expect.arrayContaining([
          { call: "complete" },
          { call: "heartbeat" },
          { call: "token" },
          { call: "log" },
        ]),
      );
    });

    it("rejects a lease that ran out even before the sweep noticed", async () => {
      const { client, jobId, lease } = await claimed();
      h.clock.advance(60_000);

      const attempt = client.complete(jobId, {
        leaseToken: lease,
        outcome: { status: "canceled" },
      });

      await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    });

    it("forbids a runner to touch another runner's job (403), and audits it", async () => {
      const owner = await claimed();
      const other = await h.registerRunner();

      const attempt = other.client.heartbeat(owner.jobId, { leaseToken: owner.lease });

      await expect(attempt).rejects.toBeInstanceOf(ApiError);
      await expect(attempt).rejects.toMatchObject({ status: 403, code: "forbidden" });
      expect(
        await h.store.listAudit({ jobId: owner.jobId, action: "job.access-denied" }),
      ).toHaveLength(1);
      expect(await h.store.getJob(owner.jobId)).toMatchObject({
        status: "leased",
        runnerId: owner.runnerId,
      });
    });

    it("answers 404 for a job that does not exist", async () => {
      const { client } = await h.registerRunner();

      const attempt = client.heartbeat(999, { leaseToken: "kbl_x" });

      await expect(attempt).rejects.toMatchObject({ status: 404, code: "not-found" });
    });
  });
});
