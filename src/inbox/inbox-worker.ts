/**
 * The inbox worker (DESIGN section 8): works the deliveries the webhook handler recorded. It is a
 * pool of `concurrency` slots: whenever a slot is free it asks the store for due deliveries, and a
 * delivery that finishes frees its slot at once, so one slow delivery never holds back the others.
 * The store hands out at most one delivery per ordering key, never one with an older pending
 * delivery of its key ahead of it (in flight or waiting for its retry), and never one of a key the
 * worker is still working (`excludeKeys`), so events about one issue run one at a time and in
 * order. Each delivery is marked done, or failed (the store schedules the retry with exponential
 * backoff and gives up after its attempt cap). Started by the composition root, stopped on
 * shutdown.
 *
 * Holds belong to a live process (issue 13): a delivery handed out is held by this replica
 * (`holder`) for a short `holdMs`, renewed while it is worked; a worker that starts first releases
 * the holds its replica's earlier run left (a crash), and one that stops after its grace releases
 * what it could not finish, so the next start, or another replica, takes them at once. A replica
 * that dies holds nothing for longer than `holdMs`.
 */
import type { Logger } from "pino";
import type { Delivery, JobStore } from "../store/index.js";

/** Throw this from a handler for an event that can never succeed: it is not retried. */
export class PermanentDeliveryError extends Error {
  override readonly name = "PermanentDeliveryError";
}

export interface InboxWorkerOptions {
  store: JobStore;
  /** Applies one delivery; throwing schedules a retry. */
  process: (delivery: Delivery) => Promise<void>;
  log: Logger;
  /** Deliveries processed at once (each with a different ordering key). Default 4. */
  concurrency?: number;
  /** How often the worker looks for due retries when nothing woke it. Default 1000 ms. */
  pollMs?: number;
  /** How long a handed-out delivery is held from other workers; renewed every third of it
   * while it is worked. Default 30 s. */
  holdMs?: number;
  /** The app replica this worker belongs to: stable across restarts (its holds are released
   * at the next start), distinct between replicas. Default `kanbot`. */
  holder?: string;
}

export interface InboxWorker {
  /** Starts the loop in the background. */
  start(): void;
  /**
   * Stops the loop and waits for the deliveries in progress: for `graceMs` at most (default: as
   * long as they take); what is still running then is released for the next start or another
   * replica. Resolves with the ids released.
   */
  stop(options?: { graceMs?: number }): Promise<string[]>;
  /** Looks for work now (a delivery was just recorded). */
  wake(): void;
  /** Processes due deliveries until none is left; returns how many were handled. */
  drain(): Promise<number>;
  /** Whether `start` was called and `stop` was not. */
  readonly running: boolean;
}

export function createInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const pollMs = options.pollMs ?? 1000;
  const holdMs = options.holdMs ?? 30_000;
  const holder = options.holder ?? "kanbot";
  const { store, log } = options;
  let running = false;
  let loop: Promise<void> | undefined;
  /** The deliveries in flight by id; each promise settles (never rejects) once it is marked. */
  const inFlight = new Map<string, Promise<void>>();
  /** The ordering keys of the deliveries in flight. */
  const busyKeys = new Set<string>();
  /** The last fill: the next one starts after it. */
  let fills: Promise<unknown> = Promise.resolve();
  /** Deliveries marked (done or failed) since the worker was created. */
  let handledCount = 0;
  /** Something happened (a wake, a freed slot, stop) since the loop last looked for work. */
  let signalled = false;
  let wakeUp: (() => void) | undefined;
  let renewTimer: NodeJS.Timeout | undefined;

  function signal(): void {
    signalled = true;
    wakeUp?.();
  }

  async function handle(delivery: Delivery): Promise<void> {
    const facts = {
      deliveryId: delivery.deliveryId,
      event: delivery.event,
      action: delivery.action,
    };
    try {
      await options.process(delivery);
      await store.markDeliveryDone(delivery.deliveryId);
      log.debug(facts, "delivery processed");
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      const permanent = error instanceof PermanentDeliveryError;
      log.warn(
        { ...facts, attempts: delivery.attempts + 1, permanent, err: error },
        "delivery failed",
      );
      await store.markDeliveryFailed(delivery.deliveryId, message, { permanent });
    }
  }

  function launch(delivery: Delivery): void {
    busyKeys.add(delivery.orderingKey);
    const settled = handle(delivery)
      .catch((error: unknown) => {
        // The store could not record the outcome: the delivery's hold runs out and it is
        // handed out again.
        log.error(
          { err: error, deliveryId: delivery.deliveryId },
          "inbox worker could not record a delivery's outcome",
        );
      })
      .finally(() => {
        inFlight.delete(delivery.deliveryId);
        busyKeys.delete(delivery.orderingKey);
        handledCount++;
        signal();
      });
    inFlight.set(delivery.deliveryId, settled);
  }

  /** Fills the free slots with due deliveries; returns how many it started. */
  async function fillNow(): Promise<number> {
    const free = concurrency - inFlight.size;
    if (free <= 0) return 0;
    const due = await store.nextDeliveries({
      limit: free,
      holdMs,
      excludeKeys: [...busyKeys],
      holder,
    });
    let started = 0;
    for (const delivery of due) {
      // The store skips busy keys (and keys only free up during the read): never run a
      // delivery beside (or before) one of its key in flight.
      if (busyKeys.has(delivery.orderingKey)) {
        log.warn(
          { deliveryId: delivery.deliveryId, orderingKey: delivery.orderingKey },
          "delivery handed out while its ordering key is busy; skipped",
        );
        continue;
      }
      launch(delivery);
      started++;
    }
    return started;
  }

  /** `fillNow`, one at a time (the loop and `drain`), so the slots are never over-filled. */
  function fill(): Promise<number> {
    const result = fills.then(fillNow);
    fills = result.catch(() => undefined);
    return result;
  }

  async function drain(): Promise<number> {
    const before = handledCount;
    for (;;) {
      const started = await fill();
      if (started === 0 && inFlight.size === 0) break;
      if (inFlight.size > 0) await Promise.race(inFlight.values());
    }
    return handledCount - before;
  }

  /** Waits for a signal, or `pollMs` (retries that came due); at once if one came meanwhile. */
  function sleep(): Promise<void> {
    if (signalled) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      wakeUp = done;
    });
  }

  /** Keeps the holds of the deliveries in flight alive: renewed every third of `holdMs`. */
  async function renewHolds(): Promise<void> {
    const ids = [...inFlight.keys()];
    if (ids.length === 0) return;
    try {
      await store.renewDeliveryHolds(holder, ids, holdMs);
    } catch (error) {
      log.warn({ err: error, deliveries: ids.length }, "inbox holds not renewed; trying again");
    }
  }

  async function run(): Promise<void> {
    // Holds this replica's earlier run left (it died, or stopped past its grace): nobody works
    // them any more, so they are released at once instead of running out.
    try {
      const released = await store.releaseDeliveryHolds(holder);
      if (released > 0) log.info({ holder, released }, "inbox holds of the previous run released");
    } catch (error) {
      log.error({ err: error }, "inbox holds of the previous run not released; they run out");
    }
    while (running) {
      signalled = false;
      try {
        await fill();
      } catch (error) {
        log.error({ err: error }, "inbox worker could not read the inbox; trying again");
      }
      if (running) await sleep();
    }
    await Promise.all(inFlight.values());
  }

  return {
    start() {
      if (running) return;
      running = true;
      renewTimer = setInterval(() => void renewHolds(), Math.max(1, Math.floor(holdMs / 3)));
      renewTimer.unref();
      loop = run();
      log.info({ concurrency }, "inbox worker started");
    },
    async stop(stopOptions = {}) {
      running = false;
      signal();
      const all = (async () => {
        await loop;
        await Promise.all(inFlight.values());
      })();
      const { graceMs } = stopOptions;
      let timer: NodeJS.Timeout | undefined;
      const finished = await (graceMs === undefined
        ? all.then(() => true)
        : Promise.race([
            all.then(() => true),
            new Promise<false>((resolve) => {
              timer = setTimeout(() => resolve(false), graceMs);
            }),
          ]));
      clearTimeout(timer);
      clearInterval(renewTimer);
      if (finished) {
        loop = undefined;
        log.info("inbox worker stopped");
        return [];
      }
      const unfinished = [...inFlight.keys()];
      await store.releaseDeliveryHolds(holder, unfinished).catch((error: unknown) => {
        log.error({ err: error }, "inbox holds not released at shutdown; they run out");
      });
      log.warn(
        { graceMs, released: unfinished },
        "inbox worker stopped with deliveries unfinished; released for the next start",
      );
      return unfinished;
    },
    wake() {
      signal();
    },
    drain,
    get running() {
      return running;
    },
  };
}
