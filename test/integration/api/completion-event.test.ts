// A completion and its `finished` event are saved in one transaction (issue 12): a failed hook or
// an app that dies after the store's commit loses neither, and a retried completion records no
// second event.
import { afterEach, describe, expect, it } from "vitest";
import type { Job, JobStore } from "../../../src/store/index.js";
import { startHarness, type Harness } from "./harness.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const OUTCOME = { status: "succeeded", headSha: SHA, summary: "Added widgets." } as const;

describe("runner API: the finished event of a completion", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /**
   * A harness whose `jobFinished` hook records the event in the store's inbox, once per job
   * (like the app's), and throws instead for the first `failures` calls.
   */
  async function harness(
    options: { failures?: number; apiStore?: (store: JobStore) => JobStore } = {},
  ) {
    let failures = options.failures ?? 0;
    const hookCalls: number[] = [];
    const started: Harness = await startHarness({
      ...(options.apiStore ? { apiStore: options.apiStore } : {}),
      events: {
        async jobFinished(job: Job) {
          hookCalls.push(job.id);
          if (failures > 0) {
            failures--;
            throw new Error("the inbox insert failed");
          }
          await started.store.recordDelivery({
            deliveryId: `kanbot-job-${job.id}-finished`,
            event: "kanbot_job",
            action: "finished",
            payload: { jobId: job.id },
            orderingKey: `job-${job.id}`,
          });
        },
      },
    });
    h = started;
    const runner = await started.registerRunner();
    const jobId = await started.queueJob();
    const claim = await runner.client.claim({ waitSeconds: 0 });
    if (claim === undefined) throw new Error("expected a job");
    const complete = () =>
      runner.client.complete(jobId, { leaseToken: claim.lease.token, outcome: OUTCOME });
    const finishedEvents = async () =>
      (await started.store.listDeliveries()).filter(
        (delivery) => delivery.deliveryId === `kanbot-job-${jobId}-finished`,
      );
    return { h: started, jobId, complete, finishedEvents, hookCalls };
  }

  it("answers 500 when the hook fails; the event was recorded with the completion, once", async () => {
    const { h, jobId, complete, finishedEvents } = await harness({ failures: 1 });

    const first = complete();
    await expect(first).rejects.toMatchObject({ status: 500 });
    expect(await h.store.getJob(jobId)).toMatchObject({ status: "succeeded" });
    // Recorded in the completion's own transaction, before the hook ran.
    expect(await finishedEvents()).toHaveLength(1);
    const retry = await complete();

    expect(retry).toMatchObject({ jobId, status: "succeeded" });
    expect(await finishedEvents()).toHaveLength(1);
  });

  it("keeps the event when the app died between saving the completion and the hook", async () => {
    let crashes = 1;
    const { h, jobId, complete, finishedEvents, hookCalls } = await harness({
      // The store commits the completion, then the app "dies" before it can go on.
      apiStore: (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (typeof value !== "function") return value;
            if (property !== "completeJob") return value.bind(target);
            return async (...args: Parameters<JobStore["completeJob"]>) => {
              const finished = await target.completeJob(...args);
              if (crashes-- > 0) throw new Error("the app died after the commit");
              return finished;
            };
          },
        }),
    });

    await expect(complete()).rejects.toMatchObject({ status: 500 });
    expect(await h.store.getJob(jobId)).toMatchObject({ status: "succeeded" });
    expect(hookCalls).toEqual([]);
    // The completion and its event were committed together: the crash lost neither.
    expect(await finishedEvents()).toHaveLength(1);
    await complete();

    expect(await finishedEvents()).toHaveLength(1);
  });

  it("records the event once when a completion is repeated after it was recorded", async () => {
    const { complete, finishedEvents, hookCalls, jobId } = await harness();

    await complete();
    await complete();

    expect(hookCalls).toEqual([jobId, jobId]);
    expect(await finishedEvents()).toHaveLength(1);
  });
});
