/**
 * Processing one inbox delivery: skip events this version does not act on, refuse a payload that
 * does not fit its event (recorded before the schemas existed: intake marks such deliveries
 * `invalid` and never hands them out), ignore events sent by kanbot's own bot account (its label
 * changes, board moves and comments must never trigger it), authenticate as the delivery's
 * installation and run the event's handler.
 */
import type { Logger } from "pino";
import { InvalidRepositoryNameError } from "../domain/repo-name.js";
import { DEFAULT_STORE_POLICY, type Delivery } from "../store/index.js";
import { PermanentDeliveryError } from "./inbox-worker.js";
import { isKanbotEvent } from "./internal-events.js";
import { handlerFor, payloadProblem } from "./route-event.js";
import { buildTaskContext, type TaskContextSources } from "./task-context.js";

/**
 * A delivery whose payload does not fit its event; failing it again cannot help. (Its `name`
 * stays `PermanentDeliveryError`, which the inbox worker reads as "do not retry".)
 */
export class InvalidPayloadError extends PermanentDeliveryError {}

export interface DeliveryProcessorOptions extends TaskContextSources {
  log: Logger;
  /** kanbot's own login, `<app slug>[bot]`. */
  botLogin: () => Promise<string>;
  /**
   * The store's `deliveryMaxAttempts` (`KANBOT_INBOX_MAX_ATTEMPTS`), to tell a handler its last
   * try. Default: the store's default.
   */
  deliveryMaxAttempts?: number;
}

interface Sender {
  sender?: { login?: unknown } | null;
}

export function createDeliveryProcessor(
  options: DeliveryProcessorOptions,
): (delivery: Delivery) => Promise<void> {
  const ensuredLabels = new Set<string>();
  const maxAttempts = options.deliveryMaxAttempts ?? DEFAULT_STORE_POLICY.deliveryMaxAttempts;
  return async (delivery) => {
    const log = options.log.child({
      deliveryId: delivery.deliveryId,
      event: delivery.event,
      action: delivery.action,
    });
    // 1. Events this version acts on.
    const handler = handlerFor(delivery.event, delivery.action);
    if (handler === undefined) {
      log.debug("no handler for this event; recorded and skipped");
      return;
    }
    // kanbot's own events (./internal-events.ts) are not GitHub's shapes: intake refuses
    // them from GitHub, so one here was recorded by kanbot itself.
    const problem = isKanbotEvent(delivery.event)
      ? undefined
      : payloadProblem(delivery.event, delivery.action, delivery.payload);
    if (problem !== undefined) {
      throw new InvalidPayloadError(
        `the ${delivery.event} payload does not fit the event (${problem}); it is not processed. GitHub sent a shape kanbot does not know: report it with the delivery id`,
      );
    }
    // 2. kanbot's own events.
    const payload = delivery.payload as Sender;
    const sender = typeof payload.sender?.login === "string" ? payload.sender.login : undefined;
    const botLogin = await options.botLogin();
    // Except a PR merged by kanbot: its own auto-merge (`merge.auto`) must still finish the task
    // (done, board, branch cleanup); nothing in that handler writes what would close it again.
    const ownMerge =
      delivery.event === "pull_request" &&
      delivery.action === "closed" &&
      (delivery.payload as { pull_request?: { merged?: unknown } }).pull_request?.merged === true;
    if (sender !== undefined && sender.toLowerCase() === botLogin.toLowerCase() && !ownMerge) {
      log.debug({ sender }, "event sent by kanbot itself; ignored");
      return;
    }
    if (delivery.installationId === undefined) {
      log.warn("delivery names no installation; kanbot cannot act on it");
      return;
    }
    // 3. The handler, as the installation.
    const ctx = {
      ...(await buildTaskContext(options, {
        installationId: delivery.installationId,
        log,
        botLogin,
        ensuredLabels,
      })),
      deliveryId: delivery.deliveryId,
      deliveryAttempt: {
        number: delivery.attempts + 1,
        // The store gives up once `attempts` reaches the cap (src/store/webhook-inbox.ts).
        final: delivery.attempts + 1 >= maxAttempts,
      },
      deliveryReceivedAt: delivery.receivedAt,
    } satisfies Parameters<typeof handler>[0];
    try {
      await handler(ctx, delivery.payload);
    } catch (error) {
      // A repository name GitHub would not allow (the port refused to build a path from it).
      if (error instanceof InvalidRepositoryNameError) {
        throw new InvalidPayloadError(error.message, { cause: error });
      }
      throw error;
    }
  };
}
