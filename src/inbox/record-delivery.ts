/**
 * The inbox's intake: every webhook Probot has verified (behind ./webhook-intake.ts) is recorded
 * here by the app function (src/index.ts).
 */
import type { Logger } from "pino";
import type { JobStore, JsonValue } from "../store/index.js";
import { payloadProblem } from "../handlers/payload-schemas.js";

/** The few fields of a webhook payload that decide where an event is queued. */
interface PayloadShape {
  action?: unknown;
  installation?: { id?: unknown } | null;
  repository?: { full_name?: unknown } | null;
  issue?: { number?: unknown } | null;
  pull_request?: { number?: unknown } | null;
  check_suite?: { head_sha?: unknown } | null;
  check_run?: { head_sha?: unknown } | null;
  sha?: unknown;
  projects_v2_item?: { content_node_id?: unknown } | null;
}

/**
 * Events for one issue (or PR) are processed in order; events about different issues may run in
 * parallel. The key is `owner/repo#N` where the payload names an issue or PR, `owner/repo@sha`
 * for check and status events (resolved to a PR later), the item's content for board events,
 * else the repository or installation.
 */
export function orderingKey(event: string, payload: PayloadShape): string {
  const repo =
    typeof payload.repository?.full_name === "string" ? payload.repository.full_name : undefined;
  const number = payload.issue?.number ?? payload.pull_request?.number;
  if (repo && typeof number === "number") return `${repo}#${number}`;
  const sha = payload.check_suite?.head_sha ?? payload.check_run?.head_sha ?? payload.sha;
  if (repo && typeof sha === "string") return `${repo}@${sha}`;
  const content = payload.projects_v2_item?.content_node_id;
  if (event === "projects_v2_item" && typeof content === "string") return `node:${content}`;
  if (repo) return repo;
  const installation = payload.installation?.id;
  return typeof installation === "number" ? `installation:${installation}` : `event:${event}`;
}

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
 * it cannot help.
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
  const payload = (isObject ? delivery.payload : {}) as PayloadShape;
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
