/**
 * Recovers webhooks GitHub could not deliver while kanbot was down. GitHub never redelivers a
 * failed delivery by itself: on start and then every few minutes, kanbot lists the app's recent
 * deliveries (`GET /app/hook/deliveries`, as the app) and asks GitHub to send again
 * (`POST /app/hook/deliveries/{delivery_id}/attempts`) each event that:
 *
 * - has no successful attempt (2xx or 3xx) in the window looked at;
 * - failed in a way another attempt can fix: no answer (the app was down), a 5xx, 408 or 429
 *   (a 4xx such as a bad signature or an oversized body would be refused again);
 * - is not already in the inbox (its guid is the inbox's delivery id, `X-GitHub-Delivery`);
 * - has failed fewer than `maxFailedAttempts` times (a delivery that keeps failing is logged and
 *   left alone).
 *
 * The walk is bounded: newest first, at most `maxPages` pages, and no further back than
 * `lookbackMs`. The GitHub calls are behind {@link WebhookDeliveriesPort}; its Octokit
 * implementation, {@link webhookDeliveriesOn}, takes the app's own Octokit (`app.auth()`, a JWT).
 */
import type { Logger } from "pino";
import { toGitHubError } from "../github/errors.js";
import type { InstallationOctokit } from "../github/octokit-port.js";

/** One attempt to deliver an event, as GitHub lists it (`hook-delivery-item`). */
export interface HookDelivery {
  /** The attempt's id: what a redelivery names. */
  id: number;
  /** The event's guid (`X-GitHub-Delivery`), shared by every attempt of it. */
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  /** The app's HTTP status; 0 when it did not answer. */
  statusCode: number;
  event: string;
  action: string | null;
}

/** One page of deliveries, newest first, and the cursor of the next (undefined: the last page). */
export interface HookDeliveryPage {
  deliveries: HookDelivery[];
  next: string | undefined;
}

/** The app's webhook deliveries on GitHub, in the words redelivery needs. */
export interface WebhookDeliveriesPort {
  listPage(cursor: string | undefined): Promise<HookDeliveryPage>;
  /** Asks GitHub to deliver the attempt's event again (GitHub answers 202 and sends it later). */
  redeliver(deliveryId: number): Promise<void>;
}

export interface RedeliveryPolicy {
  /** How far back deliveries are looked at. Default 24 hours (GitHub keeps three days). */
  lookbackMs: number;
  /** At most this many pages are read per sweep. Default 10. */
  maxPages: number;
  /** An event whose attempts failed this many times is left alone. Default 5. */
  maxFailedAttempts: number;
}

export const DEFAULT_REDELIVERY_POLICY: RedeliveryPolicy = {
  lookbackMs: 24 * 3_600_000,
  maxPages: 10,
  maxFailedAttempts: 5,
};

export interface RedeliveryDeps {
  port: WebhookDeliveriesPort;
  /** Whether the inbox already holds the delivery (`JobStore.getDelivery`). */
  inInbox(guid: string): Promise<boolean>;
  now: () => Date;
  log: Logger;
}

/** Why an event that had a failed attempt was not redelivered. */
export type RedeliverySkip = "succeeded" | "in-inbox" | "not-retryable" | "gave-up";

export interface RedeliveryReport {
  /** Attempts read. */
  scanned: number;
  pages: number;
  /** Guids asked to be delivered again. */
  redelivered: string[];
  skipped: { guid: string; why: RedeliverySkip }[];
  /** Guids whose redelivery GitHub refused (logged; tried again at the next sweep). */
  refused: string[];
}

/** A status another attempt can fix: no answer, a server error, a timeout or a rate limit. */
export function retryableStatus(statusCode: number): boolean {
  return statusCode === 0 || statusCode >= 500 || statusCode === 408 || statusCode === 429;
}

function succeeded(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 400;
}

/** Reads the deliveries newest first, within the window and the page cap. */
async function recentDeliveries(
  deps: RedeliveryDeps,
  policy: RedeliveryPolicy,
): Promise<{ deliveries: HookDelivery[]; pages: number }> {
  const since = deps.now().getTime() - policy.lookbackMs;
  const deliveries: HookDelivery[] = [];
  let cursor: string | undefined;
  let pages = 0;
  while (pages < policy.maxPages) {
    const page = await deps.port.listPage(cursor);
    pages++;
    let older = false;
    for (const delivery of page.deliveries) {
      if (delivery.deliveredAt.getTime() < since) {
        older = true;
        continue;
      }
      deliveries.push(delivery);
    }
    if (older || page.next === undefined) break;
    cursor = page.next;
  }
  return { deliveries, pages };
}

/** One sweep: finds the events worth another attempt and asks GitHub for it. */
export async function redeliverFailedDeliveries(
  deps: RedeliveryDeps,
  policy: RedeliveryPolicy = DEFAULT_REDELIVERY_POLICY,
): Promise<RedeliveryReport> {
  const { deliveries, pages } = await recentDeliveries(deps, policy);
  const byGuid = new Map<string, HookDelivery[]>();
  for (const delivery of deliveries) {
    const attempts = byGuid.get(delivery.guid) ?? [];
    attempts.push(delivery);
    byGuid.set(delivery.guid, attempts);
  }
  const report: RedeliveryReport = {
    scanned: deliveries.length,
    pages,
    redelivered: [],
    skipped: [],
    refused: [],
  };
  // Oldest event first (by its first attempt; GitHub's times have whole seconds, so ties go by
  // id), so GitHub sends them again in the order they happened.
  const first = (attempts: HookDelivery[]) => attempts.at(-1) ?? attempts[0];
  const events = [...byGuid.entries()].sort(([, a], [, b]) => {
    const [x, y] = [first(a), first(b)];
    if (x === undefined || y === undefined) return 0;
    return x.deliveredAt.getTime() - y.deliveredAt.getTime() || x.id - y.id;
  });
  for (const [guid, attempts] of events) {
    const failed = attempts.filter((attempt) => !succeeded(attempt.statusCode));
    if (failed.length === 0) continue;
    const why = await skipReason(deps, policy, guid, attempts, failed.length);
    if (why !== undefined) {
      report.skipped.push({ guid, why });
      if (why === "gave-up") {
        deps.log.warn(
          { guid, event: attempts[0]?.event, failedAttempts: failed.length },
          "webhook delivery failed too often; not redelivered again (redeliver it from the app's settings on GitHub once the cause is fixed)",
        );
      }
      continue;
    }
    // The newest attempt (attempts are newest first).
    const latest = attempts[0];
    if (latest === undefined) continue;
    try {
      await deps.port.redeliver(latest.id);
      report.redelivered.push(guid);
      deps.log.info(
        { guid, deliveryId: latest.id, event: latest.event, action: latest.action },
        "asked GitHub to redeliver a failed webhook",
      );
    } catch (error) {
      report.refused.push(guid);
      deps.log.warn(
        { err: error, guid, deliveryId: latest.id },
        "GitHub did not accept the redelivery; it is asked again at the next sweep",
      );
    }
  }
  return report;
}

async function skipReason(
  deps: RedeliveryDeps,
  policy: RedeliveryPolicy,
  guid: string,
  attempts: readonly HookDelivery[],
  failedCount: number,
): Promise<RedeliverySkip | undefined> {
  if (attempts.some((attempt) => succeeded(attempt.statusCode))) return "succeeded";
  const latest = attempts[0];
  if (latest === undefined || !retryableStatus(latest.statusCode)) return "not-retryable";
  if (await deps.inInbox(guid)) return "in-inbox";
  if (failedCount >= policy.maxFailedAttempts) return "gave-up";
  return undefined;
}

/** What a sweep timer needs: one sweep that logs its own failures and never rejects. */
export interface RedeliverySweeper {
  /** Runs one sweep now (unless one is running); never rejects. */
  runOnce(): Promise<RedeliveryReport | undefined>;
  /** Runs a sweep every `intervalMs` (timer unref'd). */
  start(intervalMs: number): void;
  stop(): void;
}

export function createRedeliverySweeper(
  deps: Omit<RedeliveryDeps, "port"> & { port: () => Promise<WebhookDeliveriesPort> },
  policy: RedeliveryPolicy = DEFAULT_REDELIVERY_POLICY,
): RedeliverySweeper {
  let running: Promise<RedeliveryReport | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function sweep(): Promise<RedeliveryReport | undefined> {
    try {
      const report = await redeliverFailedDeliveries({ ...deps, port: await deps.port() }, policy);
      deps.log.info(
        {
          scanned: report.scanned,
          pages: report.pages,
          redelivered: report.redelivered.length,
          skipped: report.skipped.length,
          refused: report.refused.length,
        },
        "webhook redelivery sweep finished",
      );
      return report;
    } catch (error) {
      deps.log.error(
        { err: error },
        "webhook redelivery sweep failed; it runs again at the next interval",
      );
      return undefined;
    }
  }

  function runOnce(): Promise<RedeliveryReport | undefined> {
    running ??= sweep().finally(() => (running = undefined));
    return running;
  }

  return {
    runOnce,
    start(intervalMs) {
      timer ??= setInterval(() => void runOnce(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** A listed delivery as GitHub sends it (the fields redelivery reads). */
interface HookDeliveryItem {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
  event: string;
  action?: string | null;
}

/** The `cursor` of the Link header's `next` page, if any. */
export function nextCursor(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match?.[1] === undefined) continue;
    return new URL(match[1], "http://link.invalid").searchParams.get("cursor") ?? undefined;
  }
  return undefined;
}

/** The port on the app's own Octokit (`await app.auth()`: JWT-authenticated). */
export function webhookDeliveriesOn(
  appOctokit: InstallationOctokit,
  perPage = 100,
): WebhookDeliveriesPort {
  return {
    async listPage(cursor) {
      try {
        const response = await appOctokit.request("GET /app/hook/deliveries", {
          per_page: perPage,
          ...(cursor === undefined ? {} : { cursor }),
        });
        const items = response.data as HookDeliveryItem[];
        return {
          deliveries: items.map((item) => ({
            id: item.id,
            guid: item.guid,
            deliveredAt: new Date(item.delivered_at),
            redelivery: item.redelivery,
            statusCode: item.status_code,
            event: item.event,
            action: item.action ?? null,
          })),
          next: nextCursor(response.headers.link),
        };
      } catch (error) {
        throw toGitHubError(error, "list the app's webhook deliveries");
      }
    },
    async redeliver(deliveryId) {
      try {
        await appOctokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", {
          delivery_id: deliveryId,
        });
      } catch (error) {
        throw toGitHubError(error, `redeliver webhook delivery ${deliveryId}`);
      }
    },
  };
}
