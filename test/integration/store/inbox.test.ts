import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { openStore, type JobStore, type NewDelivery } from "../../../src/store/index.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock } from "../../helpers/store-fixtures.js";

function delivery(deliveryId: string, orderingKey: string, action = "labeled"): NewDelivery {
  return {
    deliveryId,
    event: "issues",
    action,
    installationId: 4242,
    payload: { action, issue: { number: 12 }, note: deliveryId },
    orderingKey,
  };
}

describe.each(STORE_ENGINES)("webhook inbox on %s", (engine) => {
  let database: TestDatabase;
  const clock = manualClock();
  let store: JobStore;

  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
    store = await openStore({
      url: database.url,
      now: clock.now,
      postgresPoolSize: 2,
      policy: { deliveryMaxAttempts: 3, deliveryBackoffBaseMs: 1_000, deliveryBackoffMaxMs: 1_500 },
    });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await database.reset();
    clock.reset();
  });

  async function ids(deliveries: Promise<{ deliveryId: string }[]>): Promise<string[]> {
    return (await deliveries).map((d) => d.deliveryId);
  }

  it("records a delivery once and reports the same X-GitHub-Delivery again as a duplicate", async () => {
    const first = await store.recordDelivery(delivery("d-1", "acme/widgets#12"));

    const second = await store.recordDelivery({
      ...delivery("d-1", "acme/widgets#12"),
      payload: {},
    });

    expect(first.outcome).toBe("inserted");
    expect(second).toEqual({ outcome: "duplicate", delivery: first.delivery });
    expect(first.delivery).toMatchObject({
      status: "pending",
      attempts: 0,
      payload: { action: "labeled", issue: { number: 12 }, note: "d-1" },
    });
    expect(await store.listDeliveries()).toHaveLength(1);
  });

  it("hands out one delivery per key, oldest first, and the next only after it is done", async () => {
    await store.recordDelivery(delivery("a-1", "acme/widgets#1"));
    await store.recordDelivery(delivery("b-1", "acme/widgets#2"));
    await store.recordDelivery(delivery("a-2", "acme/widgets#1"));
    await store.recordDelivery(delivery("b-2", "acme/widgets#2"));
    await store.recordDelivery(delivery("a-3", "acme/widgets#1"));

    const firstBatch = await ids(store.nextDeliveries({ limit: 10 }));
    const whileHeld = await ids(store.nextDeliveries({ limit: 10 }));
    await store.markDeliveryDone("a-1");
    const afterA1 = await ids(store.nextDeliveries({ limit: 10 }));
    await store.markDeliveryDone("b-1");
    await store.markDeliveryDone("a-2");
    const afterMore = await ids(store.nextDeliveries({ limit: 10 }));

    expect(firstBatch).toEqual(["a-1", "b-1"]);
    expect(whileHeld).toEqual([]);
    expect(afterA1).toEqual(["a-2"]);
    expect(afterMore).toEqual(["b-2", "a-3"]);
  });

  it("does not hand out a newer delivery behind an older one that waits for its retry", async () => {
    await store.recordDelivery(delivery("a-1", "k"));
    await store.recordDelivery(delivery("a-2", "k"));
    await store.nextDeliveries({ limit: 10 });

    const failed = await store.markDeliveryFailed("a-1", "GitHub answered 502");
    const duringBackoff = await ids(store.nextDeliveries({ limit: 10 }));
    clock.advance(1_000);
    const afterBackoff = await ids(store.nextDeliveries({ limit: 10 }));

    expect(failed).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "GitHub answered 502",
      nextAttemptAt: new Date(clock.now().getTime()),
    });
    expect(duringBackoff).toEqual([]);
    expect(afterBackoff).toEqual(["a-1"]);
  });

  it("backs off exponentially up to the cap, then gives up and unblocks the key", async () => {
    await store.recordDelivery(delivery("a-1", "k"));
    await store.recordDelivery(delivery("a-2", "k"));
    const delays: number[] = [];

    let current = (await store.nextDeliveries({ limit: 1 }))[0];
    while (current && current.deliveryId === "a-1") {
      const before = clock.now().getTime();
      const failed = await store.markDeliveryFailed("a-1", "boom");
      if (failed.status === "failed") break;
      delays.push(failed.nextAttemptAt.getTime() - before);
      clock.advance(failed.nextAttemptAt.getTime() - before);
      current = (await store.nextDeliveries({ limit: 1 }))[0];
    }
    const next = await ids(store.nextDeliveries({ limit: 10 }));

    expect(delays).toEqual([1_000, 1_500]);
    expect(await store.getDelivery("a-1")).toMatchObject({ status: "failed", attempts: 3 });
    expect(next).toEqual(["a-2"]);
    expect((await store.listAudit({ action: "delivery.failed" })).length).toBe(1);
  });

  it("gives a held delivery to another worker once the hold runs out", async () => {
    await store.recordDelivery(delivery("a-1", "k"));
    await store.nextDeliveries({ limit: 1, holdMs: 5_000 });

    clock.advance(5_000);
    const again = await ids(store.nextDeliveries({ limit: 1 }));

    expect(again).toEqual(["a-1"]);
  });

  it("marks a delivery failed at once when the failure is permanent", async () => {
    await store.recordDelivery(delivery("a-1", "k"));

    const failed = await store.markDeliveryFailed("a-1", "payload names no issue", {
      permanent: true,
    });

    expect(failed).toMatchObject({ status: "failed", attempts: 1, processedAt: clock.now() });
    expect(await store.listDeliveries({ statuses: ["failed"] })).toHaveLength(1);
  });
});
