/**
 * The inbox worker as a pool: a free slot takes the next due delivery at once, one slow delivery
 * never holds back another issue's, one issue's deliveries never overlap and run in order, at most
 * `concurrency` run at once, and `stop` waits for the ones in flight. Handlers wait on promises the
 * test resolves; nothing here waits for time to pass.
 */
import pino from "pino";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createInboxWorker,
  type InboxWorker,
  type InboxWorkerOptions,
} from "../../../src/inbox/inbox-worker.js";
import { openStore, type Delivery, type JobStore } from "../../../src/store/index.js";
import {
  beforeAllOrFailEach,
  createTestDatabase,
  STORE_ENGINES,
  type TestDatabase,
} from "../../helpers/store-databases.js";
import { manualClock } from "../../helpers/store-fixtures.js";

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending callbacks, I/O and timers of 0 ms run (a few rounds of the event loop). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Retries `check` until it passes (a loaded machine may be slow; nothing asserts on time). */
function eventually(check: () => unknown): Promise<unknown> {
  return vi.waitFor(check, { timeout: 20_000, interval: 10 });
}

const silent = pino({ level: "silent" });

describe.each(STORE_ENGINES)("the inbox worker pool on %s", (engine) => {
  let database: TestDatabase;
  const clock = manualClock();
  let store: JobStore;
  let worker: InboxWorker | undefined;

  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
    store = await openStore({
      url: database.url,
      now: clock.now,
      postgresPoolSize: 8,
      policy: { deliveryMaxAttempts: 3, deliveryBackoffBaseMs: 1_000, deliveryBackoffMaxMs: 1_500 },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await worker?.stop();
    worker = undefined;
    await database.reset();
    clock.reset();
  });

  async function record(deliveryId: string, issue: number): Promise<void> {
    await store.recordDelivery({
      deliveryId,
      event: "issues",
      action: "labeled",
      installationId: 4242,
      payload: { action: "labeled", issue: { number: issue } },
      orderingKey: `acme/widgets#${issue}`,
    });
  }

  async function status(deliveryId: string): Promise<string | undefined> {
    return (await store.getDelivery(deliveryId))?.status;
  }

  /**
   * A handler the test drives: each delivery announces its start and waits for `release(id)`
   * (unless listed in `free`); it counts how many run at once, in all and per ordering key.
   */
  function controlledHandler(free: string[] = []) {
    const events: string[] = [];
    const gates = new Map<string, Deferred>();
    const started = new Map<string, Deferred>();
    const perKey = new Map<string, number>();
    let active = 0;
    let maxActive = 0;
    let maxPerKey = 0;
    const gate = (id: string): Deferred => {
      const found = gates.get(id) ?? deferred();
      gates.set(id, found);
      return found;
    };
    const start = (id: string): Deferred => {
      const found = started.get(id) ?? deferred();
      started.set(id, found);
      return found;
    };
    for (const id of free) gate(id).resolve();
    return {
      events,
      release: (id: string) => gate(id).resolve(),
      started: (id: string) => start(id).promise,
      get active() {
        return active;
      },
      get maxActive() {
        return maxActive;
      },
      get maxPerKey() {
        return maxPerKey;
      },
      async process(delivery: Delivery): Promise<void> {
        const key = delivery.orderingKey;
        active++;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        maxActive = Math.max(maxActive, active);
        maxPerKey = Math.max(maxPerKey, perKey.get(key) ?? 0);
        events.push(`start ${delivery.deliveryId}`);
        start(delivery.deliveryId).resolve();
        try {
          await gate(delivery.deliveryId).promise;
        } finally {
          events.push(`end ${delivery.deliveryId}`);
          perKey.set(key, (perKey.get(key) ?? 0) - 1);
          active--;
        }
      },
    };
  }

  /** A worker on the store (or `options.store`) whose deliveries go to `handler`. */
  function workerFor(
    handler: { process(delivery: Delivery): Promise<void> },
    options: Partial<InboxWorkerOptions>,
  ): InboxWorker {
    return createInboxWorker({
      store,
      log: silent,
      process: (d) => handler.process(d),
      ...options,
    });
  }

  it("does not hold back a later delivery for another issue behind a slow one", async () => {
    const handler = controlledHandler(["b-1"]);
    worker = workerFor(handler, { concurrency: 4, pollMs: 60_000 });
    await record("a-1", 1);
    worker.start();
    await handler.started("a-1");

    await record("b-1", 2);
    worker.wake();
    await handler.started("b-1");
    await eventually(async () => expect(await status("b-1")).toBe("done"));

    expect(handler.events).toEqual(["start a-1", "start b-1", "end b-1"]);
    expect(await status("a-1")).toBe("pending");
    handler.release("a-1");
    await worker.stop();
    expect(await status("a-1")).toBe("done");
  });

  it("runs one issue's deliveries one at a time, in arrival order, beside other issues'", async () => {
    const handler = controlledHandler(["b-1", "b-2", "c-1"]);
    worker = workerFor(handler, { concurrency: 4, pollMs: 60_000 });
    await record("a-1", 1);
    await record("a-2", 1);
    await record("b-1", 2);
    await record("a-3", 1);
    await record("b-2", 2);
    await record("c-1", 3);
    worker.start();
    await handler.started("a-1");
    await eventually(async () => expect(await status("c-1")).toBe("done"));
    await eventually(async () => expect(await status("b-2")).toBe("done"));
    await settle();

    // Issue 1 is stuck behind a-1; issues 2 and 3 went on meanwhile.
    expect(handler.events.filter((e) => e.includes("a-"))).toEqual(["start a-1"]);
    handler.release("a-1");
    await handler.started("a-2");
    handler.release("a-2");
    await handler.started("a-3");
    handler.release("a-3");
    await worker.stop();

    expect(handler.events.filter((e) => e.includes("a-"))).toEqual([
      "start a-1",
      "end a-1",
      "start a-2",
      "end a-2",
      "start a-3",
      "end a-3",
    ]);
    expect(handler.events.indexOf("start b-2")).toBeGreaterThan(handler.events.indexOf("end b-1"));
    expect(handler.maxPerKey).toBe(1);
    expect((await store.listDeliveries()).map((d) => d.status)).toEqual(Array(6).fill("done"));
  });

  it("keeps a later delivery waiting while an earlier one of its issue waits for its retry", async () => {
    let failFirst = true;
    const order: string[] = [];
    worker = createInboxWorker({
      store,
      log: silent,
      process: async (d) => {
        order.push(d.deliveryId);
        if (d.deliveryId === "a-1" && failFirst) {
          failFirst = false;
          throw new Error("GitHub said no");
        }
      },
      concurrency: 4,
    });
    await record("a-1", 1);
    await record("a-2", 1);
    await record("b-1", 2);

    expect(await worker.drain()).toBe(2);
    expect(order).toEqual(["a-1", "b-1"]);
    expect(await store.getDelivery("a-1")).toMatchObject({ status: "pending", attempts: 1 });
    expect(await status("a-2")).toBe("pending");

    clock.advance(1_000);
    expect(await worker.drain()).toBe(2);
    expect(order).toEqual(["a-1", "b-1", "a-1", "a-2"]);
    expect((await store.listDeliveries()).map((d) => d.status)).toEqual(["done", "done", "done"]);
  });

  it("never has more than `concurrency` deliveries in flight and fills a freed slot at once", async () => {
    const handler = controlledHandler();
    worker = workerFor(handler, { concurrency: 2, pollMs: 60_000 });
    for (let issue = 1; issue <= 5; issue++) await record(`d-${issue}`, issue);
    worker.start();
    await handler.started("d-1");
    await handler.started("d-2");
    worker.wake();
    await settle();
    expect(handler.active).toBe(2);
    expect(handler.events).toEqual(["start d-1", "start d-2"]);

    // d-1 frees its slot; d-3 starts while d-2 is still in flight.
    handler.release("d-1");
    await handler.started("d-3");
    expect(handler.events).toEqual(["start d-1", "start d-2", "end d-1", "start d-3"]);
    for (const id of ["d-2", "d-3", "d-4"]) {
      handler.release(id);
      await settle();
    }
    await handler.started("d-5");
    handler.release("d-5");
    await worker.stop();

    expect(handler.maxActive).toBe(2);
    expect((await store.listDeliveries()).map((d) => d.status)).toEqual(Array(5).fill("done"));
  });

  it("drain works the inbox with the same limit and counts every delivery it handled", async () => {
    const handler = controlledHandler(["d-1", "d-2", "d-3", "d-4", "d-5", "d-6"]);
    worker = workerFor(handler, { concurrency: 3 });
    for (let i = 1; i <= 6; i++) await record(`d-${i}`, i % 2 === 0 ? 2 : i);

    expect(await worker.drain()).toBe(6);
    expect(handler.maxActive).toBeLessThanOrEqual(3);
    expect(handler.maxPerKey).toBe(1);
    expect(await worker.drain()).toBe(0);
  });

  it("stop waits for the deliveries in flight and takes no more", async () => {
    const handler = controlledHandler();
    worker = workerFor(handler, { concurrency: 2, pollMs: 60_000 });
    await record("a-1", 1);
    worker.start();
    await handler.started("a-1");

    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await record("b-1", 2);
    worker.wake();
    await settle();
    expect(stopped).toBe(false);
    expect(worker.running).toBe(false);

    handler.release("a-1");
    await stopping;
    expect(await status("a-1")).toBe("done");
    expect(await status("b-1")).toBe("pending");
    expect(handler.events).toEqual(["start a-1", "end a-1"]);
  });

  it("reads the inbox once when idle and again only when woken", async () => {
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "nextDeliveries") {
          return (options: Parameters<JobStore["nextDeliveries"]>[0]) => {
            reads++;
            return target.nextDeliveries(options);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const handler = controlledHandler(["a-1"]);
    worker = workerFor(handler, { store: counting, pollMs: 60_000 });
    worker.start();
    await eventually(() => expect(reads).toBe(1));
    await settle();
    expect(reads).toBe(1);

    await record("a-1", 1);
    worker.wake();
    await eventually(async () => expect(await status("a-1")).toBe("done"));
    await settle();
    // The wake's read, then one after a-1 freed its slot (which found nothing).
    expect(reads).toBe(3);
    await worker.stop();
  });
});
