/**
 * The inbox's intake: every webhook Probot has verified (behind ./webhook-intake.ts) is recorded
 * here by the app function (src/index.ts); kanbot's own events are recorded by
 * ./internal-event-recorder.ts and the pull-request effect.
 */
import type { Logger } from "pino";
import type { JobStore, JsonValue } from "../store/index.js";
import { orderingKey, type OrderingPayload } from "./internal-events.js";
import { payloadProblem } from "./route-event.js";

export interface IncomingDelivery {
  /** `X-GitHub-Delivery`. */
  id: string;
  /** `X-GitHub-Event`. */
  name: string;
  payload: unknown;
}

/**
 * Step one of the durable inbox (DESIGN section 8): store the verified delivery and return. No
 * GitHub call happens here, so GitHub always gets its answer at once; the inbox worker does the
 * rest. A redelivery of the same `X-GitHub-Delivery` is recorded once.
 *
 * A payload that does not fit its event (src/handlers/payload-schemas.ts) is recorded as
 * `invalid` with the reason, logged once as a warning, and never handed to a handler: retrying
 * it cannot help. The ordering key comes from ./internal-events.ts, as every inbox key does.
 */
export async function recordDelivery(
  store: JobStore,
  delivery: IncomingDelivery,
  log: Logger,
): Promise<"inserted" | "duplicate" | "invalid"> {
  const isObject =
    typeof delivery.payload === "object" &&
    delivery.payload !== null &&
    !Array.isArray(delivery.payload);
  const payload = (isObject ? delivery.payload : {}) as OrderingPayload;
  const action = typeof payload.action === "string" ? payload.action : undefined;
  const installationId =
    typeof payload.installation?.id === "number" && Number.isSafeInteger(payload.installation.id)
      ? payload.installation.id
      : undefined;
  const problem = payloadProblem(delivery.name, action, delivery.payload);
  const result = await store.recordDelivery({
    deliveryId: delivery.id,
    event: delivery.name,
    ...(action !== undefined ? { action } : {}),
    ...(installationId !== undefined ? { installationId } : {}),
    payload: (delivery.payload ?? null) as JsonValue,
    orderingKey: orderingKey(delivery.name, payload),
    ...(problem !== undefined ? { invalid: problem } : {}),
  });
  const facts = { deliveryId: delivery.id, event: delivery.name, action };
  if (result.outcome === "duplicate") {
    log.info(facts, "duplicate delivery ignored");
    return "duplicate";
  }
  if (problem !== undefined) {
    log.warn(
      { ...facts, problem },
      "webhook payload does not fit its event; recorded as invalid and not processed",
    );
    return "invalid";
  }
  log.debug(facts, "delivery recorded");
  return "inserted";
}
