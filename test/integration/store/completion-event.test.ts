/**
 * A job's completion and its `kanbot_job.finished` inbox delivery commit together (issue 12),
 * on SQLite and Postgres: both, or (when the delivery cannot be written) neither, and a retried
 * completion records the event only if it is missing.
 */
import { describe, expect, it } from "vitest";
import type { NewDelivery } from "../../../src/store/index.js";
import { STORE_ENGINES, useEngineStore } from "../../helpers/store-databases.js";
import { manualClock, newTask, runner, type ManualClock } from "../../helpers/store-fixtures.js";

const LEASE_MS = 60_000;

function finishedEvent(jobId: number): NewDelivery {
  return {
    deliveryId: `kanbot-job-${jobId}-finished`,
    event: "kanbot_job",
    action: "finished",
    installationId: 4242,
    payload: { action: "finished", jobId },
    orderingKey: "acme/widgets#1",
  };
}

describe.each(STORE_ENGINES)("a completion and its event in one transaction, on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  async function leased() {
    const store = engineStore.store;
    const { task } = await store.upsertTask(newTask());
    await store.enqueueJob({ taskId: task.id, kind: "implement" });
    const claimed = await store.claimJob(runner(), LEASE_MS);
    if (claimed === undefined) throw new Error("nothing to claim");
    return claimed;
  }

  it("records the event with the completion, and a retried completion adds none", async () => {
    const store = engineStore.store;
    const { job, leaseToken } = await leased();
    const event = finishedEvent(job.id);

    await store.completeJob(job.id, leaseToken, { status: "succeeded" }, { event });
    await store.completeJob(job.id, leaseToken, { status: "succeeded" }, { event });

    expect((await store.getJob(job.id))?.status).toBe("succeeded");
    const deliveries = await store.listDeliveries();
    expect(deliveries.map((delivery) => [delivery.deliveryId, delivery.status])).toEqual([
      [event.deliveryId, "pending"],
    ]);
  });

  it("records a missing event at a retried completion", async () => {
    const store = engineStore.store;
    const { job, leaseToken } = await leased();
    await store.completeJob(job.id, leaseToken, { status: "failed", error: "exit 1" });
    expect(await store.listDeliveries()).toEqual([]);

    await store.completeJob(
      job.id,
      leaseToken,
      { status: "failed", error: "exit 1" },
      { event: finishedEvent(job.id) },
    );

    expect(await store.listDeliveries()).toHaveLength(1);
  });

  it("saves neither when the event cannot be written", async () => {
    const store = engineStore.store;
    const { job, leaseToken } = await leased();
    // No ordering key: the deliveries table refuses the row (not null), inside the transaction.
    const broken = { ...finishedEvent(job.id), orderingKey: null as unknown as string };

    await expect(
      store.completeJob(job.id, leaseToken, { status: "succeeded" }, { event: broken }),
    ).rejects.toThrow();

    expect((await store.getJob(job.id))?.status).toBe("leased");
    expect(await store.listDeliveries()).toEqual([]);
    expect(await store.listAudit({ jobId: job.id, action: "job.finished" })).toEqual([]);
  });
});
