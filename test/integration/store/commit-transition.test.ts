/**
 * `commitTransition`: a task's new state, the jobs it cancels and queues, its audit entries and
 * its outbox are saved in one transaction, on SQLite and Postgres: all of it, or (on a version
 * conflict) none of it. A new task is created with its first transition, in the same transaction.
 */
import { describe, expect, it } from "vitest";
import { TaskVersionConflictError, type JsonValue } from "../../../src/store/index.js";
import { STORE_ENGINES, useEngineStore } from "../../helpers/store-databases.js";
import { manualClock, newTask, runner, type ManualClock } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;
const OUTBOX: JsonValue = {
  effects: [
    { type: "set-label", state: "queued" },
    { type: "update-progress-comment", note: "x" },
  ],
  actor: "octocat",
  jobId: 3,
};

describe.each(STORE_ENGINES)("a task's transition in one transaction, on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  it("saves the state, the canceled and queued jobs, the audit entries and the outbox together", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    const old = await store.enqueueJob({ taskId: task.id, kind: "implement" });

    const committed = await store.commitTransition(
      task.id,
      { state: "queued", used: { attempts: 2 }, pendingEffects: OUTBOX },
      {
        expectedVersion: task.version,
        actor: "octocat",
        cancelJobs: true,
        enqueue: { kind: "revise", input: "make it blue" },
        audit: [{ action: "task.note", detail: { note: "started again" } }],
      },
    );

    expect(committed.canceled.map((result) => [result.job.id, result.outcome])).toEqual([
      [old.id, "canceled"],
    ]);
    expect(committed.queued).toMatchObject({ kind: "revise", input: "make it blue" });
    const stored = await store.getTask(task.id);
    expect(stored).toMatchObject({ state: "queued", used: { attempts: 2 } });
    // The outbox round-trips as it was written, and clears with null.
    expect(stored?.pendingEffects).toEqual(OUTBOX);
    const notes = await store.listAudit({ taskId: task.id, action: "task.note" });
    expect(notes.map((entry) => [entry.actor, entry.detail])).toEqual([
      ["octocat", { note: "started again" }],
    ]);
    expect((await store.claimJob(runner(), LEASE_MS))?.job.id).toBe(committed.queued?.id);
    const audited = (await store.listAudit({ taskId: task.id })).length;
    await store.updateTask(task.id, { pendingEffects: null });
    expect((await store.getTask(task.id))?.pendingEffects).toBeUndefined();
    // Ticking the outbox off is bookkeeping: it is not audited as a change of the task.
    expect(await store.listAudit({ taskId: task.id })).toHaveLength(audited);
  });

  it("saves none of it when the task changed since it was read", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    const old = await store.enqueueJob({ taskId: task.id, kind: "implement" });
    await store.updateTask(task.id, { state: "queued" });

    await expect(
      store.commitTransition(
        task.id,
        { state: "canceled", pendingEffects: OUTBOX },
        {
          expectedVersion: task.version,
          cancelJobs: true,
          enqueue: { kind: "revise" },
          audit: [{ action: "task.note", detail: { note: "never" } }],
        },
      ),
    ).rejects.toBeInstanceOf(TaskVersionConflictError);

    const stored = await store.getTask(task.id);
    expect(stored).toMatchObject({ state: "queued" });
    expect(stored?.pendingEffects).toBeUndefined();
    expect((await store.listJobs(task.id)).map((job) => [job.id, job.status])).toEqual([
      [old.id, "queued"],
    ]);
    expect(await store.listAudit({ taskId: task.id, action: "task.note" })).toEqual([]);
  });
  it("creates a new task with its first transition: the task, its job and its audit together", async () => {
    const store = engineStore.store;
    const committed = await store.commitTransition(
      newTask({ state: "queued" }),
      { state: "queued", used: { attempts: 1 }, pendingEffects: OUTBOX },
      { actor: "octocat", enqueue: { kind: "implement" } },
    );

    const stored = await store.findTask("acme/widgets", 1);
    expect(stored).toMatchObject({ id: committed.task.id, state: "queued", version: 2 });
    expect(stored?.pendingEffects).toEqual(OUTBOX);
    expect((await store.listJobs(committed.task.id)).map((job) => job.id)).toEqual([
      committed.queued?.id,
    ]);
    // Newest first.
    const audit = await store.listAudit({ taskId: committed.task.id });
    expect(audit.map((entry) => entry.action)).toEqual([
      "job.enqueued",
      "task.state-changed",
      "task.created",
    ]);
  });

  it("creates nothing when the issue has a task already: a version conflict, decided again from it", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask({ state: "waiting" }));

    const error = await store
      .commitTransition(newTask(), { state: "queued" }, { enqueue: { kind: "implement" } })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TaskVersionConflictError);
    expect(error).toMatchObject({ taskId: task.id, actualVersion: task.version });
    expect(await store.listTasks()).toHaveLength(1);
    expect(await store.getTask(task.id)).toMatchObject({ state: "waiting", version: 1 });
    expect(await store.listJobs(task.id)).toEqual([]);
  });

  it("leaves no task behind when its first transition fails", async () => {
    const store = engineStore.store;

    await expect(
      store.commitTransition(
        newTask(),
        { state: "queued" },
        {
          enqueue: { kind: "implement" },
          // An audit entry that cannot be written (a BigInt is not JSON): the last step fails.
          audit: [{ action: "task.note", detail: { n: 1n } as unknown as JsonValue }],
        },
      ),
    ).rejects.toThrow();

    expect(await store.listTasks()).toEqual([]);
    expect(await store.listQueue()).toEqual([]);
  });
});
