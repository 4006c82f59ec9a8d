/**
 * `/kanbot cancel` (or a removed state label) and then the trigger again at once: the canceled
 * job's runner learns of the cancel only at its next heartbeat, so until then it still holds its
 * lease. The re-run's job must not run beside it: queueing it revokes the canceled lease in the
 * same transaction, so the old runner's heartbeat, completion and log appends are refused (it
 * stops without pushing) and the task has one live job.
 */
import { describe, expect, it } from "vitest";
import { JobAlreadyFinishedError, StaleLeaseError } from "../../../src/store/index.js";
import { STORE_ENGINES, useEngineStore } from "../../helpers/store-databases.js";
import { manualClock, newTask, runner, type ManualClock } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;

describe.each(STORE_ENGINES)("cancel, then run again, on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  it("revokes the canceled job's lease before the re-run's job can be claimed", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    const first = await store.enqueueJob({ taskId: task.id, kind: "implement" });
    const old = await store.claimJob(runner(), LEASE_MS);
    expect(old?.job.id).toBe(first.id);
    const cancel = await store.cancelTaskJobs(task.id, "octocat");
    expect(cancel.map((result) => result.outcome)).toEqual(["cancel-requested"]);

    // The trigger again, before the old runner's next heartbeat.
    const rerun = await store.enqueueJob({ taskId: task.id, kind: "implement", actor: "octocat" });

    // The old job is over, and its holder can no longer act on it.
    expect(await store.getJob(first.id)).toMatchObject({ status: "canceled" });
    await expect(
      store.heartbeat(first.id, old?.leaseToken ?? "", { leaseMs: LEASE_MS }),
    ).rejects.toBeInstanceOf(StaleLeaseError);
    await expect(
      store.completeJob(first.id, old?.leaseToken ?? "", { status: "canceled" }),
    ).rejects.toBeInstanceOf(JobAlreadyFinishedError);
    await expect(
      store.appendLog(first.id, old?.leaseToken ?? "", 0, "late"),
    ).rejects.toBeInstanceOf(StaleLeaseError);
    // The re-run's job is the task's one live job.
    const next = await store.claimJob(runner(), LEASE_MS);
    expect(next?.job.id).toBe(rerun.id);
    const live = (await store.listJobs(task.id)).filter((job) => job.status === "leased");
    expect(live.map((job) => job.id)).toEqual([rerun.id]);
    const audit = await store.listAudit({ taskId: task.id, action: "job.canceled" });
    expect(audit.map((entry) => entry.detail)).toContainEqual(
      expect.objectContaining({ reason: "lease revoked: the task was started again" }),
    );
  });

  it("leaves a running job that nobody canceled alone when another job is queued", async () => {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    const first = await store.enqueueJob({ taskId: task.id, kind: "implement" });
    const held = await store.claimJob(runner(), LEASE_MS);

    await store.enqueueJob({ taskId: task.id, kind: "revise" });

    expect(await store.getJob(first.id)).toMatchObject({ status: "leased" });
    const beat = await store.heartbeat(first.id, held?.leaseToken ?? "", { leaseMs: LEASE_MS });
    expect(beat.canceled).toBe(false);
  });
});
