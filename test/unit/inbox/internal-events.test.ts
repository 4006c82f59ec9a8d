import { describe, expect, it } from "vitest";
import {
  gateRecheckDeliveryId,
  isKanbotEvent,
  issueOrderingKey,
  jobDeliveryId,
  mergeabilityDeliveryId,
  mergeabilityOrderingKey,
  orderingKey,
  type OrderingPayload,
} from "../../../src/inbox/internal-events.js";

const REPOSITORY = { full_name: "acme/app" };
const SHA = "a".repeat(40);

describe("orderingKey", () => {
  it.each<[string, string, OrderingPayload, string]>([
    ["an issue event", "issues", { repository: REPOSITORY, issue: { number: 7 } }, "acme/app#7"],
    [
      "a pull request event",
      "pull_request",
      { repository: REPOSITORY, pull_request: { number: 9 } },
      "acme/app#9",
    ],
    [
      "a check suite",
      "check_suite",
      { repository: REPOSITORY, check_suite: { head_sha: SHA } },
      `acme/app@${SHA}`,
    ],
    [
      "a check run",
      "check_run",
      { repository: REPOSITORY, check_run: { head_sha: SHA } },
      `acme/app@${SHA}`,
    ],
    ["a commit status", "status", { repository: REPOSITORY, sha: SHA }, `acme/app@${SHA}`],
    [
      "a board item",
      "projects_v2_item",
      { projects_v2_item: { content_node_id: "I_kw1" }, installation: { id: 3 } },
      "node:I_kw1",
    ],
    ["a push", "push", { repository: REPOSITORY, installation: { id: 3 } }, "acme/app"],
    ["an installation event", "installation", { installation: { id: 3 } }, "installation:3"],
    ["an event naming nothing", "meta", {}, "event:meta"],
    [
      "an issue number that is not a number",
      "issues",
      { repository: REPOSITORY, issue: { number: "7" } },
      "acme/app",
    ],
  ])("keys %s", (_what, event, payload, expected) => {
    const key = orderingKey(event, payload);

    expect(key).toBe(expected);
  });

  it("keys an issue's webhooks like kanbot's own events about its task", () => {
    const webhook = orderingKey("issues", { repository: REPOSITORY, issue: { number: 7 } });

    expect(webhook).toBe(issueOrderingKey("acme/app", 7));
  });

  it("keys mergeability questions apart from the issue's other events", () => {
    const key = mergeabilityOrderingKey("acme/app", 7);

    expect(key).toBe("acme/app#7/mergeability");
    expect(key).not.toBe(issueOrderingKey("acme/app", 7));
  });
});

describe("internal delivery ids", () => {
  it.each([
    [jobDeliveryId(12, "lost"), "kanbot-job-12-lost"],
    [
      gateRecheckDeliveryId(4, SHA, "2024-05-01T10:00:00.000Z"),
      `kanbot-gate-4-${SHA}-2024-05-01T10:00:00.000Z`,
    ],
    [
      mergeabilityDeliveryId(4, SHA, "auto-merge", "d-1"),
      `kanbot-mergeable-4-${SHA}-auto-merge-d-1`,
    ],
  ])("%s", (id, expected) => {
    expect(id).toBe(expected);
  });
});

describe("isKanbotEvent", () => {
  it.each([
    ["kanbot_job", true],
    ["kanbot_gate", true],
    ["issues", false],
    ["check_run", false],
  ])("%s: %s", (event, expected) => {
    expect(isKanbotEvent(event)).toBe(expected);
  });
});
