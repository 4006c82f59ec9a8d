import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  JobAlreadyFinishedError,
  JobNotFoundError,
  MissingAgentError,
  openStore,
  RegistrationTokenError,
  StaleLeaseError,
  TaskVersionConflictError,
  type JobStore,
  type JsonValue,
} from "../../../src/store/index.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock, newTask, runner, type ManualClock } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;

describe.each(STORE_ENGINES)("job store on %s", (engine) => {
  let database: TestDatabase;
  const clock: ManualClock = manualClock();
  let store: JobStore;

  // One database and one store per engine; every test starts from empty tables and the same time.
  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
    store = await openStore({ url: database.url, now: clock.now, postgresPoolSize: 2 });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await database.reset();
    clock.reset();
  });

  describe("tasks", () => {
    it("creates one task per repository and issue, refreshing GitHub's facts on upsert", async () => {
      const first = await store.upsertTask(newTask({ issueNumber: 7 }));
      await store.updateTask(first.task.id, { state: "running" });

      const again = await store.upsertTask(
        newTask({ issueNumber: 7, title: "Renamed", state: "queued" }),
      );

      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.task.id).toBe(first.task.id);
      expect(again.task.title).toBe("Renamed");
      expect(again.task.state).toBe("running");
      expect(await store.findTask("acme/widgets", 7)).toEqual(again.task);
      expect(await store.findTask("acme/widgets", 8)).toBeUndefined();
    });

    it("keeps the version when an upsert changes nothing", async () => {
      const { task } = await store.upsertTask(newTask());

      const again = await store.upsertTask(newTask());

      expect(again.task.version).toBe(task.version);
    });

    it("updates fields, merges budget use and rejects a stale expected version", async () => {
      const { task } = await store.upsertTask(newTask());

      const updated = await store.updateTask(
        task.id,
        { state: "checks", prNumber: 12, headSha: "abc123", used: { attempts: 1, usd: 0.5 } },
        { expectedVersion: task.version },
      );

      expect(updated).toMatchObject({
        state: "checks",
        prNumber: 12,
        headSha: "abc123",
        used: { attempts: 1, minutes: 0, usd: 0.5, lostLeases: 0 },
        version: task.version + 1,
      });
      await expect(
        store.updateTask(task.id, { state: "review" }, { expectedVersion: task.version }),
      ).rejects.toBeInstanceOf(TaskVersionConflictError);
      expect(await store.listTasks({ states: ["checks"] })).toHaveLength(1);
    });
  });

  describe("claims", () => {
    it("hands out jobs by priority, then first in first out", async () => {
      const { task } = await store.upsertTask(newTask());
      const p2a = await store.enqueueJob({ taskId: task.id, kind: "implement", priority: 2 });
      clock.advance(1);
      const p3 = await store.enqueueJob({ taskId: task.id, kind: "implement", priority: 3 });
      clock.advance(1);
      const p0 = await store.enqueueJob({ taskId: task.id, kind: "implement", priority: 0 });
      clock.advance(1);
      const p2b = await store.enqueueJob({ taskId: task.id, kind: "implement", priority: 2 });
      const p2c = await store.enqueueJob({ taskId: task.id, kind: "implement", priority: 2 });

      const order: number[] = [];
      for (;;) {
        const claimed = await store.claimJob(runner(), LEASE_MS);
        if (!claimed) break;
        order.push(claimed.job.id);
      }

      expect(order).toEqual([p0.id, p2a.id, p2b.id, p2c.id, p3.id]);
      expect([p2a, p3, p0, p2b, p2c].map((job) => job.attempt)).toEqual([1, 2, 3, 4, 5]);
    });

    it("keeps an answer job for the runner that asked, then opens it to every runner", async () => {
      const { task } = await store.upsertTask(newTask());
      await store.enqueueJob({ taskId: task.id, kind: "implement" });
      const asker = runner({ runnerId: "runner-a" });
      const other = runner({ runnerId: "runner-b" });
      const asked = await store.claimJob(asker, LEASE_MS);
      await store.completeJob(asked?.job.id ?? 0, asked?.leaseToken ?? "", {
        status: "needs-input",
        result: { question: "Round floats?", sessionId: "s-1", validation: [] },
      });
      clock.advance(60_000);
      const answer = await store.enqueueJob({
        taskId: task.id,
        kind: "answer",
        preferAskingRunnerMs: 120_000,
      });
      expect(answer.preferredRunner).toEqual({
        runnerId: "runner-a",
        until: new Date(clock.now().getTime() + 120_000),
      });

      expect(await store.claimJob(other, LEASE_MS)).toBeUndefined();
      // A waiting claim of runner B wakes when the job opens to it.
      expect(await store.nextJobDueInMs()).toBe(120_000);
      clock.advance(119_999);
      expect(await store.claimJob(other, LEASE_MS)).toBeUndefined();
      clock.advance(1);
      const opened = await store.claimJob(other, LEASE_MS);
      expect(opened?.job.id).toBe(answer.id);
      expect(opened?.job.runnerId).toBe("runner-b");
    });

    it("hands the kept answer job to the asking runner at once", async () => {
      const { task } = await store.upsertTask(newTask());
      await store.enqueueJob({ taskId: task.id, kind: "implement" });
      const asker = runner({ runnerId: "runner-a" });
      const asked = await store.claimJob(asker, LEASE_MS);
      await store.completeJob(asked?.job.id ?? 0, asked?.leaseToken ?? "", {
        status: "needs-input",
        result: { question: "Round floats?", validation: [] },
      });
      const answer = await store.enqueueJob({
        taskId: task.id,
        kind: "answer",
        preferAskingRunnerMs: 120_000,
      });
      expect((await store.claimJob(asker, LEASE_MS))?.job.id).toBe(answer.id);
    });

    it("keeps nothing for a job that no runner asked for", async () => {
      const { task } = await store.upsertTask(newTask());
      const answer = await store.enqueueJob({
        taskId: task.id,
        kind: "answer",
        preferAskingRunnerMs: 120_000,
      });
      const implement = await store.enqueueJob({
        taskId: task.id,
        kind: "implement",
        preferAskingRunnerMs: 120_000,
      });
      expect(answer.preferredRunner).toBeUndefined();
      expect(implement.preferredRunner).toBeUndefined();
      expect(await store.nextJobDueInMs()).toBeUndefined();
      expect((await store.claimJob(runner({ runnerId: "runner-b" }), LEASE_MS))?.job.id).toBe(
        answer.id,
      );
    });

    it("matches the runner's agents, every required label and the repository allowlist", async () => {
      const widgets = (await store.upsertTask(newTask({ repo: "acme/widgets" }))).task;
      const gadgets = (await store.upsertTask(newTask({ repo: "acme/gadgets" }))).task;
      const codexJob = await store.enqueueJob({
        taskId: widgets.id,
        kind: "implement",
        agent: "codex",
      });
      const gpuJob = await store.enqueueJob({
        taskId: widgets.id,
        kind: "implement",
        requiredLabels: ["gpu", "linux"],
      });
      const gadgetsJob = await store.enqueueJob({ taskId: gadgets.id, kind: "implement" });

      const noMatch = await store.claimJob(
        runner({ agents: ["gemini"], labels: ["gpu", "linux"] }),
        LEASE_MS,
      );
      const onlyLinux = await store.claimJob(
        runner({ agents: ["claude"], labels: ["linux"], repos: ["acme/widgets"] }),
        LEASE_MS,
      );
      const gpu = await store.claimJob(
        runner({ agents: ["claude"], labels: ["linux", "gpu", "big"], repos: ["acme/widgets"] }),
        LEASE_MS,
      );
      const codex = await store.claimJob(runner({ agents: ["codex"] }), LEASE_MS);
      const anyRepo = await store.claimJob(runner({ agents: ["claude"] }), LEASE_MS);
      const noAgents = await store.claimJob(runner({ agents: [] }), LEASE_MS);

      expect(noMatch).toBeUndefined();
      expect(onlyLinux).toBeUndefined();
      expect(gpu?.job.id).toBe(gpuJob.id);
      expect(codex?.job.id).toBe(codexJob.id);
      expect(anyRepo?.job.id).toBe(gadgetsJob.id);
      expect(noAgents).toBeUndefined();
    });

    it("holds back a job until its not-before time", async () => {
      const { task } = await store.upsertTask(newTask());
      await store.enqueueJob({
        taskId: task.id,
        kind: "fix-checks",
        notBefore: new Date(clock.now().getTime() + 30_000),
        input: { failingChecks: ["test"] },
      });

      const early = await store.claimJob(runner(), LEASE_MS);
      clock.advance(30_000);
      const due = await store.claimJob(runner(), LEASE_MS);

      expect(early).toBeUndefined();
      expect(due?.job).toMatchObject({ kind: "fix-checks", input: { failingChecks: ["test"] } });
    });

    it("leases with a fresh token and an expiry from the store's clock", async () => {
      const { task } = await store.upsertTask(newTask());
      const job = await store.enqueueJob({ taskId: task.id, kind: "implement" });

      const claimed = await store.claimJob(runner({ runnerId: "r-9" }), LEASE_MS);

      expect(claimed?.leaseExpiresAt).toEqual(new Date(clock.now().getTime() + LEASE_MS));
      expect(claimed?.job).toMatchObject({ id: job.id, status: "leased", runnerId: "r-9" });
      expect(claimed?.leaseToken).toMatch(/^kbl_[\w-]{40,}$/);
      expect(await store.listQueue({ statuses: ["leased"] })).toHaveLength(1);
    });

    it("refuses to queue a job for a task without an agent", async () => {
      const { task } = await store.upsertTask(newTask({ agent: undefined }));

      await expect(store.enqueueJob({ taskId: task.id, kind: "implement" })).rejects.toBeInstanceOf(
        MissingAgentError,
      );
    });

    it("wakes a waiting claimer when a job is queued", async () => {
      const { task } = await store.upsertTask(newTask());
      let unsubscribe = (): void => undefined;
      const woken = new Promise<void>((resolve) => {
        unsubscribe = store.onJobQueued(resolve);
      });

      await store.enqueueJob({ taskId: task.id, kind: "implement" });

      await expect(woken).resolves.toBeUndefined();
      unsubscribe();
    });

    // Only Postgres serves several app replicas; SQLite's wake-ups are in-process (above).
    if (engine === "postgres") {
      it("wakes claimers of another replica through NOTIFY", async () => {
        const { task } = await store.upsertTask(newTask());
        const replica = await openStore({ url: database.url, now: clock.now, postgresPoolSize: 1 });
        let woken = false;
        const unsubscribe = replica.onJobQueued(() => {
          woken = true;
        });

        // The replica's LISTEN connection comes up in the background: queue until it hears one.
        while (!woken) {
          await store.enqueueJob({ taskId: task.id, kind: "implement" });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }

        expect(woken).toBe(true);
        unsubscribe();
        await replica.close();
      });
    }
  });

  describe("leases are fencing tokens", () => {
    async function claimOne() {
      const { task } = await store.upsertTask(newTask());
      await store.enqueueJob({ taskId: task.id, kind: "implement" });
      const claimed = await store.claimJob(runner(), LEASE_MS);
      if (!claimed) throw new Error("expected a job to claim");
      return claimed;
    }

    it("extends a live lease on heartbeat and reports the phase", async () => {
      const claimed = await claimOne();
      clock.advance(LEASE_MS - 1);

      const beat = await store.heartbeat(claimed.job.id, claimed.leaseToken, {
        phase: "agent",
        leaseMs: LEASE_MS,
      });

      expect(beat).toEqual({
        canceled: false,
        leaseExpiresAt: new Date(clock.now().getTime() + LEASE_MS),
      });
      expect((await store.getJob(claimed.job.id))?.phase).toBe("agent");
    });

    it("rejects a heartbeat, log append, token check or completion with a wrong token", async () => {
      const claimed = await claimOne();
      const jobId = claimed.job.id;
      const wrong = "kbl_not-the-lease";

      await expect(store.heartbeat(jobId, wrong, { leaseMs: LEASE_MS })).rejects.toEqual(
        new StaleLeaseError(jobId),
      );
      await expect(store.appendLog(jobId, wrong, 1, "x")).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(store.assertLease(jobId, wrong)).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(store.completeJob(jobId, wrong, { status: "succeeded" })).rejects.toMatchObject({
        name: "StaleLeaseError",
        jobId,
      });
      await expect(store.heartbeat(9_999, wrong, { leaseMs: 1 })).rejects.toBeInstanceOf(
        JobNotFoundError,
      );
      expect((await store.getJob(jobId))?.status).toBe("leased");
    });

    it("rejects everything from the old holder once the job is lost and re-claimed", async () => {
      const first = await claimOne();
      clock.advance(LEASE_MS);
      await store.endExpiredLeases();
      // The retry the task machine's job-lost queues.
      await store.enqueueJob({ taskId: first.job.taskId, kind: first.job.kind });
      const second = await store.claimJob(runner({ runnerId: "runner-2" }), LEASE_MS);
      if (!second) throw new Error("expected the retry to be claimable");

      const old = first.leaseToken;

      await expect(
        store.heartbeat(first.job.id, old, { leaseMs: LEASE_MS }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(store.appendLog(first.job.id, old, 1, "late")).rejects.toBeInstanceOf(
        StaleLeaseError,
      );
      await expect(
        store.completeJob(first.job.id, old, { status: "succeeded", result: { headSha: "old" } }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(store.heartbeat(second.job.id, old, { leaseMs: 1 })).rejects.toBeInstanceOf(
        StaleLeaseError,
      );
      expect(second.leaseToken).not.toBe(old);
      expect((await store.getJob(first.job.id))?.status).toBe("lost");
    });

    it("reads a job's result back typed, leaving out what an older row holds that does not fit", async () => {
      const results: JsonValue[] = [
        { headSha: "a".repeat(40), summary: "Done.", costUsd: 0.5, durationSeconds: 60 },
        {
          headSha: "not a sha",
          summary: 7,
          costUsd: 0.25,
          validation: [
            { command: "npm test", exitCode: 0, passed: true, durationSeconds: 3 },
            { command: "npm run lint" },
          ],
        },
      ];
      const finished = [];
      for (const result of results) {
        const claimed = await claimOne();
        await store.completeJob(claimed.job.id, claimed.leaseToken, {
          status: "succeeded",
          result,
        });
        finished.push(await store.getJob(claimed.job.id));
      }

      expect(finished.map((job) => job?.result)).toEqual([
        {
          headSha: "a".repeat(40),
          summary: "Done.",
          validation: [],
          costUsd: 0.5,
          durationSeconds: 60,
        },
        {
          costUsd: 0.25,
          validation: [{ command: "npm test", exitCode: 0, passed: true, durationSeconds: 3 }],
        },
      ]);
    });

    it("rejects a heartbeat once the lease has run out, even before the sweep", async () => {
      const claimed = await claimOne();
      clock.advance(LEASE_MS);

      await expect(
        store.heartbeat(claimed.job.id, claimed.leaseToken, { leaseMs: LEASE_MS }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
    });

    it("completes once, answers a retried identical completion, refuses a different one", async () => {
      const claimed = await claimOne();
      const outcome = {
        status: "succeeded",
        result: { headSha: "f00d".repeat(10), costUsd: 0.42 },
      } as const;

      const done = await store.completeJob(claimed.job.id, claimed.leaseToken, outcome);
      clock.advance(LEASE_MS * 2);
      const again = await store.completeJob(claimed.job.id, claimed.leaseToken, outcome);

      expect(done).toMatchObject({ status: "succeeded", result: outcome.result });
      expect(again).toEqual(done);
      await expect(
        store.completeJob(claimed.job.id, claimed.leaseToken, { status: "failed", error: "no" }),
      ).rejects.toBeInstanceOf(JobAlreadyFinishedError);
      await expect(
        store.heartbeat(claimed.job.id, claimed.leaseToken, { leaseMs: LEASE_MS }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
      expect((await store.endExpiredLeases()).lost).toEqual([]);
    });

    it("appends log chunks once per sequence number and reads them in order", async () => {
      const claimed = await claimOne();
      const { id } = claimed.job;

      const results = [
        await store.appendLog(id, claimed.leaseToken, 2, "second\n"),
        await store.appendLog(id, claimed.leaseToken, 1, "first\n"),
        await store.appendLog(id, claimed.leaseToken, 2, "second again\n"),
        await store.appendLog(id, claimed.leaseToken, 3, "nul\u0000byte\n"),
      ];

      expect(results.map((r) => r.appended)).toEqual([true, true, false, true]);
      expect((await store.readLog(id)).map((chunk) => chunk.text)).toEqual([
        "first\n",
        "second\n",
        "nul\uFFFDbyte\n",
      ]);
      expect((await store.readLog(id, { afterSeq: 2 })).map((chunk) => chunk.seq)).toEqual([3]);
    });
  });

  describe("expired leases", () => {
    it("ends the job as lost and decides nothing else: no retry, no count (the task machine's job)", async () => {
      const { task } = await store.upsertTask(newTask({ requiredLabels: ["gpu"] }));
      const job = await store.enqueueJob({ taskId: task.id, kind: "revise", input: { note: "x" } });
      const claimed = await store.claimJob(runner({ labels: ["gpu"] }), LEASE_MS);
      clock.advance(LEASE_MS - 1);
      const early = await store.endExpiredLeases();
      clock.advance(1);
      const woken: number[] = [];
      const unsubscribe = store.onJobQueued(() => woken.push(1));

      const sweep = await store.endExpiredLeases();
      unsubscribe();

      expect(claimed?.job.id).toBe(job.id);
      expect(early).toEqual({ lost: [], canceled: [] });
      expect(sweep.lost).toMatchObject([{ id: job.id, status: "lost", runnerId: "runner-1" }]);
      expect(sweep.canceled).toEqual([]);
      // One job, lost; nothing queued, nobody woken, the task's counts untouched.
      expect((await store.listJobs(task.id)).map((j) => j.status)).toEqual(["lost"]);
      expect(woken).toEqual([]);
      expect((await store.getTask(task.id))?.used.lostLeases).toBe(0);
      const audit = await store.listAudit({ jobId: job.id });
      expect(audit.map((entry) => entry.action)).toEqual([
        "job.lost",
        "job.claimed",
        "job.enqueued",
      ]);
      // A second sweep finds nothing more to end.
      expect(await store.endExpiredLeases()).toEqual({ lost: [], canceled: [] });
    });

    it("ends an expired job with a pending cancel as canceled, without a retry", async () => {
      const { task } = await store.upsertTask(newTask());
      const job = await store.enqueueJob({ taskId: task.id, kind: "implement" });
      await store.claimJob(runner(), LEASE_MS);
      await store.cancelJob(job.id);
      clock.advance(LEASE_MS);

      const sweep = await store.endExpiredLeases();

      expect(sweep.canceled.map((j) => [j.id, j.status])).toEqual([[job.id, "canceled"]]);
      expect(sweep.lost).toEqual([]);
      expect((await store.listJobs(task.id)).map((j) => j.status)).toEqual(["canceled"]);
    });
  });

  describe("cancel", () => {
    it("cancels a queued job at once and asks the holder of a leased one to stop", async () => {
      const { task } = await store.upsertTask(newTask());
      const leasedJob = await store.enqueueJob({ taskId: task.id, kind: "implement" });
      const claimed = await store.claimJob(runner(), LEASE_MS);
      const queuedJob = await store.enqueueJob({ taskId: task.id, kind: "revise" });

      const results = await store.cancelTaskJobs(task.id, "octocat");
      const beat = await store.heartbeat(leasedJob.id, claimed?.leaseToken ?? "", {
        leaseMs: LEASE_MS,
      });
      const done = await store.completeJob(leasedJob.id, claimed?.leaseToken ?? "", {
        status: "canceled",
      });

      expect(results.map((r) => [r.job.id, r.outcome])).toEqual([
        [leasedJob.id, "cancel-requested"],
        [queuedJob.id, "canceled"],
      ]);
      expect(beat.canceled).toBe(true);
      expect(done.status).toBe("canceled");
      expect((await store.cancelJob(queuedJob.id)).outcome).toBe("already-finished");
      expect(await store.claimJob(runner(), LEASE_MS)).toBeUndefined();
    });
  });

  describe("runners", () => {
    it("exchanges a one-time registration token for a runner and a hashed runner token", async () => {
      const grant = await store.createRegistrationToken(60_000);

      const { runner: registered, token } = await store.registerRunner({
        registrationToken: grant.token,
        name: "laptop",
        agents: ["claude", "aider"],
        labels: ["linux"],
        repos: [],
      });

      expect(await store.authenticateRunner(token)).toMatchObject({
        id: registered.id,
        name: "laptop",
      });
      expect(await store.authenticateRunner(grant.token)).toBeUndefined();
      await expect(
        store.registerRunner({
          registrationToken: grant.token,
          name: "x",
          agents: [],
          labels: [],
          repos: [],
        }),
      ).rejects.toMatchObject({ name: "RegistrationTokenError", problem: "used" });
      const stored = await database.raw.selectFrom("runners").select("token_hash").execute();
      expect(stored.map((row) => row.token_hash)).not.toContain(token);
      expect(await store.listOfferedAgents()).toEqual(["aider", "claude"]);
    });

    it("refuses expired and unknown registration tokens, and revoked runners", async () => {
      const grant = await store.createRegistrationToken(1_000);
      clock.advance(1_000);
      const registration = { name: "x", agents: ["claude"], labels: [], repos: [] };

      await expect(
        store.registerRunner({ ...registration, registrationToken: grant.token }),
      ).rejects.toEqual(new RegistrationTokenError("expired"));
      await expect(
        store.registerRunner({ ...registration, registrationToken: "kbreg_nope" }),
      ).rejects.toEqual(new RegistrationTokenError("unknown"));

      const fresh = await store.createRegistrationToken(1_000);
      const { runner: registered, token } = await store.registerRunner({
        ...registration,
        registrationToken: fresh.token,
      });
      const updated = await store.updateRunner(registered.id, { labels: ["gpu"] });
      await store.revokeRunner(registered.id);

      expect(updated.labels).toEqual(["gpu"]);
      expect(await store.authenticateRunner(token)).toBeUndefined();
      expect(await store.listOfferedAgents()).toEqual([]);
      expect((await store.getRunner(registered.id))?.revokedAt).toEqual(clock.now());
    });
  });

  describe("audit", () => {
    it("records the store's own decisions and the caller's, newest first", async () => {
      const { task } = await store.upsertTask(newTask());
      const job = await store.enqueueJob({ taskId: task.id, kind: "implement", actor: "octocat" });
      const claimed = await store.claimJob(runner({ runnerId: "r1" }), LEASE_MS);
      await store.completeJob(job.id, claimed?.leaseToken ?? "", {
        status: "failed",
        error: "boom",
      });
      await store.audit({
        taskId: task.id,
        actor: "kanbot",
        action: "task.blocked",
        detail: { why: "budget" },
      });

      const entries = await store.listAudit({ taskId: task.id });

      expect(entries.map((e) => [e.action, e.actor])).toEqual([
        ["task.blocked", "kanbot"],
        ["job.finished", "runner:r1"],
        ["job.claimed", "runner:r1"],
        ["job.enqueued", "octocat"],
        ["task.created", "octocat"],
      ]);
      expect(entries[0]).toMatchObject({ detail: { why: "budget" }, at: clock.now() });
    });
  });
});
