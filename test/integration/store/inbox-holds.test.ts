/**
 * Inbox holds name the replica holding them (issue 13), on SQLite and Postgres: a holder renews
 * and releases only its own holds, and a released delivery is handed out again at once, still in
 * order per ordering key.
 */
import { describe, expect, it } from "vitest";
import type { NewDelivery } from "../../../src/store/index.js";
import { STORE_ENGINES, useEngineStore } from "../../helpers/store-databases.js";
import { manualClock, type ManualClock } from "../../helpers/store-fixtures.js";

const HOUR = 3_600_000;

function delivery(id: string, orderingKey: string): NewDelivery {
  return { deliveryId: id, event: "issues", action: "labeled", payload: {}, orderingKey };
}

describe.each(STORE_ENGINES)("inbox holds of a replica, on %s", (engine) => {
  const clock: ManualClock = manualClock();
  const engineStore = useEngineStore(engine, clock);

  async function holds() {
    const rows = await engineStore.database.raw
      .selectFrom("deliveries")
      .select(["delivery_id", "locked_by", "locked_until"])
      .orderBy("id")
      .execute();
    return rows.map((row) => [row.delivery_id, row.locked_by, row.locked_until]);
  }

  it("records the holder, and releases only that holder's holds", async () => {
    const store = engineStore.store;
    await store.recordDelivery(delivery("a1", "acme/widgets#1"));
    await store.recordDelivery(delivery("b1", "acme/widgets#2"));
    const [a1] = await store.nextDeliveries({ limit: 1, holdMs: HOUR, holder: "replica-a" });
    const [b1] = await store.nextDeliveries({ limit: 1, holdMs: HOUR, holder: "replica-b" });
    expect([a1?.deliveryId, b1?.deliveryId]).toEqual(["a1", "b1"]);
    const until = clock.now().getTime() + HOUR;
    expect(await holds()).toEqual([
      ["a1", "replica-a", until],
      ["b1", "replica-b", until],
    ]);

    expect(await store.releaseDeliveryHolds("replica-a")).toBe(1);

    expect(await holds()).toEqual([
      ["a1", null, null],
      ["b1", "replica-b", until],
    ]);
    // Released: handed out again at once; b1 stays held.
    const again = await store.nextDeliveries({ limit: 5, holdMs: HOUR, holder: "replica-c" });
    expect(again.map((row) => row.deliveryId)).toEqual(["a1"]);
  });

  it("renews only the holder's own holds on the deliveries named", async () => {
    const store = engineStore.store;
    await store.recordDelivery(delivery("a1", "acme/widgets#1"));
    await store.recordDelivery(delivery("b1", "acme/widgets#2"));
    await store.nextDeliveries({ limit: 1, holdMs: 30_000, holder: "replica-a" });
    await store.nextDeliveries({ limit: 1, holdMs: 30_000, holder: "replica-b" });
    clock.advance(20_000);

    expect(await store.renewDeliveryHolds("replica-a", ["a1", "b1"], 30_000)).toBe(1);

    const now = clock.now().getTime();
    expect(await holds()).toEqual([
      ["a1", "replica-a", now + 30_000],
      ["b1", "replica-b", now - 20_000 + 30_000],
    ]);
  });

  it("keeps the order per key: a later delivery waits behind a released one", async () => {
    const store = engineStore.store;
    await store.recordDelivery(delivery("first", "acme/widgets#1"));
    await store.recordDelivery(delivery("second", "acme/widgets#1"));
    await store.nextDeliveries({ limit: 5, holdMs: HOUR, holder: "replica-a" });
    expect(await store.nextDeliveries({ limit: 5, holdMs: HOUR, holder: "replica-b" })).toEqual([]);

    await store.releaseDeliveryHolds("replica-a", ["first"]);

    const next = await store.nextDeliveries({ limit: 5, holdMs: HOUR, holder: "replica-b" });
    expect(next.map((row) => row.deliveryId)).toEqual(["first"]);
    await store.markDeliveryDone("first");
    expect(await holds()).toEqual([
      ["first", null, null],
      ["second", null, null],
    ]);
    const last = await store.nextDeliveries({ limit: 5, holdMs: HOUR, holder: "replica-b" });
    expect(last.map((row) => row.deliveryId)).toEqual(["second"]);
  });
});
