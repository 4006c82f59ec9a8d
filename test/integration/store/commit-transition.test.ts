/**
 * `commitTransition`: a task's new state, the jobs it cancels and queues, its audit entries and
 * its outbox are saved in one transaction, on SQLite and Postgres: all of it, or (on a version
 * conflict) none of it.
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
});
