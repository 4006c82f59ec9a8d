/**
 * Webhook deliveries as GitHub's Hookshot sends them: one POST per event to the app's URL, JSON
 * body, `X-GitHub-Event`, `X-GitHub-Delivery`, `X-GitHub-Hook-ID`,
 * `X-GitHub-Hook-Installation-Target-*`, `X-Hub-Signature-256` (HMAC-SHA256 of the body with the
 * app's secret) and a `GitHub-Hookshot/…` user agent. Deliveries go out one at a time, in the
 * order the events happened; every delivery is recorded with the app's answer.
 *
 * As on GitHub, each attempt is a delivery with its own numeric id; the event's guid
 * (`X-GitHub-Delivery`) is shared by the first attempt and every redelivery of it. A POST the app
 * did not answer (connection refused, timeout) or answered with a 4xx/5xx is a failed delivery;
 * GitHub never redelivers it by itself, only when asked (`redeliver`, the REST API's
 * `POST /app/hook/deliveries/{delivery_id}/attempts`).
 */
import { createHmac, randomUUID } from "node:crypto";

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface Delivery {
  /** The event's guid (`X-GitHub-Delivery`), shared by its redeliveries. */
  id: string;
  /** This attempt's numeric id (the REST API's `id`). */
  deliveryId: number;
  /** When the attempt was made (queued). */
  deliveredAt: Date;
  /** Whether this attempt is a redelivery of an earlier one. */
  redelivery: boolean;
  /** Whether the POST has been made (answered or failed). */
  attempted: boolean;
  /** How long the POST took, in seconds. */
  duration: number;
  event: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** The app's HTTP status, or 0 when the delivery failed or was not sent (no URL). */
  status: number;
  error: string | undefined;
}

export const HOOK_ID = 424242;

/** GitHub's `status` text for an attempt: `OK`, `Invalid HTTP Response: 503`, `failed to connect to host`. */
export function deliveryStatusText(delivery: Delivery): string {
  if (delivery.status === 0) return delivery.attempted ? "failed to connect to host" : "pending";
  if (delivery.status >= 200 && delivery.status < 300) return "OK";
  return `Invalid HTTP Response: ${delivery.status}`;
}

/** Whether the attempt failed: no answer, or a 4xx/5xx (GitHub's "failure" status filter). */
export function deliveryFailed(delivery: Delivery): boolean {
  return delivery.attempted && (delivery.status === 0 || delivery.status >= 400);
}

export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #nextDeliveryId = 90_000_001;

  constructor(
    readonly target: WebhookTarget | undefined,
    readonly appId: number,
    readonly log: (facts: Record<string, unknown>, message: string) => void,
    readonly now: () => Date = () => new Date(),
  ) {}

  /** Queues one event; it is recorded at once and delivered after those queued before it. */
  send(event: string, payload: Record<string, unknown>): Delivery {
    return this.#enqueue(randomUUID(), event, payload, false);
  }

  /**
   * Queues another attempt of the delivery `deliveryId` (same guid, event and payload, marked as
   * a redelivery); undefined when there is no such delivery.
   */
  redeliver(deliveryId: number): Delivery | undefined {
    const earlier = this.deliveries.find((delivery) => delivery.deliveryId === deliveryId);
    if (earlier === undefined) return undefined;
    return this.#enqueue(earlier.id, earlier.event, earlier.payload, true);
  }

  #enqueue(
    guid: string,
    event: string,
    payload: Record<string, unknown>,
    redelivery: boolean,
  ): Delivery {
    const delivery: Delivery = {
      id: guid,
      deliveryId: this.#nextDeliveryId++,
      deliveredAt: this.now(),
      redelivery,
      attempted: false,
      duration: 0,
      event,
      action: typeof payload.action === "string" ? payload.action : undefined,
      payload,
      status: 0,
      error: undefined,
    };
    this.deliveries.push(delivery);
    this.#pending++;
    this.#queue = this.#queue
      .then(() => this.#deliver(delivery))
      .finally(() => {
        this.#pending--;
      });
    return delivery;
  }

  get pending(): number {
    return this.#pending;
  }

  /** Resolves when every queued delivery has been answered (or failed). */
  async drained(): Promise<void> {
    while (this.#pending > 0) await this.#queue;
  }

  async #deliver(delivery: Delivery): Promise<void> {
    if (this.target === undefined) return;
    const started = performance.now();
    const body = JSON.stringify(delivery.payload);
    const signature = `sha256=${createHmac("sha256", this.target.secret).update(body).digest("hex")}`;
    try {
      const response = await fetch(this.target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/simulator",
          "x-github-event": delivery.event,
          "x-github-delivery": delivery.id,
          "x-github-hook-id": String(HOOK_ID),
          "x-github-hook-installation-target-type": "integration",
          "x-github-hook-installation-target-id": String(this.appId),
          "x-hub-signature-256": signature,
        },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      delivery.status = response.status;
      await response.arrayBuffer();
      if (response.status >= 400) {
        this.log(
          { event: delivery.event, action: delivery.action, status: response.status },
          "webhook delivery refused by the app",
        );
      }
    } catch (error) {
      delivery.error = error instanceof Error ? error.message : String(error);
      this.log({ event: delivery.event, error: delivery.error }, "webhook delivery failed");
    } finally {
      delivery.attempted = true;
      delivery.duration = Math.round(performance.now() - started) / 1000;
    }
  }
}

/** Checks a delivery's `X-Hub-Signature-256` as an app does; for tests' receivers. */
export function verifySignature(
  secret: string,
  body: string,
  signature: string | undefined,
): boolean {
  const expected = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return signature === expected;
}
