/**
 * The inbox worker (DESIGN section 8): works the deliveries the webhook handler recorded. The
 * store hands out due deliveries, at most one per ordering key (so events about one issue run in
 * order) and holds each while it is processed; the worker processes a batch concurrently, marks
 * each done, or failed (the store schedules the retry with exponential backoff and gives up
 * after its attempt cap). Started by the composition root, stopped on shutdown.
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
  /** How long a handed-out delivery is held from other workers. Default 5 minutes. */
  holdMs?: number;
}

export interface InboxWorker {
  /** Starts the loop in the background. */
  start(): void;
  /** Stops the loop and waits for the deliveries in progress. */
  stop(): Promise<void>;
  /** Looks for work now (a delivery was just recorded). */
  wake(): void;
  /** Processes due deliveries until none is left; returns how many were handled. */
  drain(): Promise<number>;
  /** Whether `start` was called and `stop` was not. */
  readonly running: boolean;
}

export function createInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 1000;
  const holdMs = options.holdMs ?? 5 * 60_000;
  const { store, log } = options;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

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

  async function round(): Promise<number> {
    const due = await store.nextDeliveries({ limit: concurrency, holdMs });
    await Promise.all(due.map((delivery) => handle(delivery)));
    return due.length;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (let handled = await round(); handled > 0; handled = await round()) total += handled;
    return total;
  }

  function sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      wakeUp = resolve;
      timer = setTimeout(resolve, pollMs);
    }).then(() => {
      if (timer !== undefined) clearTimeout(timer);
      wakeUp = undefined;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        if ((await round()) > 0) continue;
      } catch (error) {
        log.error({ err: error }, "inbox worker could not read the inbox; trying again");
      }
      if (running) await sleep();
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
      log.info({ concurrency }, "inbox worker started");
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      loop = undefined;
      log.info("inbox worker stopped");
    },
    wake() {
      wakeUp?.();
    },
    drain,
    get running() {
      return running;
    },
  };
}
