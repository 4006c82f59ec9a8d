/**
 * The inbox's second line: a delivery recorded before the payload schemas existed (still
 * pending, with a payload that does not fit its event) fails once, for good, before any GitHub
 * call.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { GitHubPort } from "../../../src/github/port.js";
import { PermanentDeliveryError } from "../../../src/inbox/inbox-worker.js";
import {
  createDeliveryProcessor,
  InvalidPayloadError,
} from "../../../src/inbox/process-delivery.js";
import type { Delivery, JobStore } from "../../../src/store/index.js";
import { webhookExample } from "../../helpers/github-webhooks.js";

function delivery(payload: unknown): Delivery {
  return {
    deliveryId: "d-1",
    event: "issues",
    action: "labeled",
    installationId: 1,
    payload: payload as Delivery["payload"],
    orderingKey: "k",
    status: "pending",
    attempts: 0,
    nextAttemptAt: new Date(0),
    lastError: undefined,
    receivedAt: new Date(0),
    processedAt: undefined,
  };
}

describe("processing a delivery whose payload does not fit", () => {
  it("fails for good, naming the field, before authenticating or calling GitHub", async () => {
    const ports: number[] = [];
    const process = createDeliveryProcessor({
      store: {} as JobStore,
      log: pino({ level: "silent" }),
      now: () => new Date(0),
      dryRun: false,
      host: "github.com",
      portFor: async (installationId) => {
        ports.push(installationId);
        return {} as GitHubPort;
      },
      botLogin: async () => "kanbot[bot]",
    });
    const payload = webhookExample("issues", "labeled") as unknown as {
      issue: { number: unknown };
    };
    payload.issue.number = "15";

    const attempt = process(delivery(payload));

    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(attempt).rejects.toBeInstanceOf(PermanentDeliveryError);
    await expect(attempt).rejects.toThrow(/issue\.number: expected number, received string/);
    expect(ports).toEqual([]);
  });
});
