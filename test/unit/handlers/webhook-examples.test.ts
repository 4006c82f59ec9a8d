import { createRequire } from "node:module";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GitHubPort } from "../../../src/github/port.js";
import { createDeliveryProcessor } from "../../../src/inbox/process-delivery.js";
import {
  openStore,
  type Delivery,
  type JobStore,
  type JsonValue,
} from "../../../src/store/index.js";

/** Every event kanbot subscribes to (app.yml, DESIGN section 5). */
const SUBSCRIBED = [
  "issues",
  "issue_comment",
  "pull_request",
  "pull_request_review",
  "check_suite",
  "check_run",
  "status",
  "push",
  "projects_v2_item",
  "installation",
  "installation_repositories",
];

interface Definition {
  name: string;
  examples: Record<string, unknown>[];
}

/** A GitHub that holds nothing special: every read answers plainly, every write succeeds. */
function plainPort(): GitHubPort {
  return {
    permissionOf: () => Promise.resolve("write"),
    defaultBranch: () => Promise.resolve("main"),
    readFile: () => Promise.resolve(undefined),
    getIssue: (ref) =>
      Promise.resolve({
        ref,
        nodeId: `I_${ref.number}`,
        title: "Example",
        body: "",
        state: "open",
        stateReason: null,
        labels: ["agent:ready"],
        author: "octocat",
        isPullRequest: false,
        htmlUrl: "",
      }),
    listComments: () => Promise.resolve([]),
    isPullRequestMerged: () => Promise.resolve(false),
    createComment: (_ref, body) =>
      Promise.resolve({
        id: 1,
        body,
        author: "kanbot[bot]",
        authorType: "Bot",
        createdAt: "",
        htmlUrl: "",
      }),
    updateComment: (_repo, id, body) =>
      Promise.resolve({
        id,
        body,
        author: "kanbot[bot]",
        authorType: "Bot",
        createdAt: "",
        htmlUrl: "",
      }),
    commentNodeId: () => Promise.resolve(undefined),
    writeIssueView: () => Promise.resolve(),
    listIssuesWithLabels: () => Promise.resolve([]),
    lastLabeler: () => Promise.resolve(undefined),
    lastLabelers: (_issue, labels) => Promise.resolve(labels.map(() => undefined)),
    ensureLabels: () => Promise.resolve(),
    addLabels: () => Promise.resolve(),
    removeLabel: () => Promise.resolve(),
    labelNodeIds: () => Promise.resolve(new Map<string, string>()),
    listBlockedBy: () => Promise.resolve([]),
    listSubIssues: () => Promise.resolve([]),
    findProject: () => Promise.resolve(undefined),
    findProjectItem: () => Promise.resolve(undefined),
    addProjectItem: () => Promise.resolve({ id: "item", values: {} }),
    setSingleSelect: () => Promise.resolve(),
    resolveProjectItem: () => Promise.resolve(undefined),
  };
}

const definitions = createRequire(import.meta.url)("@octokit/webhooks-examples") as Definition[];
const cases = definitions
  .filter((definition) => SUBSCRIBED.includes(definition.name))
  .flatMap((definition) =>
    definition.examples.map((example, index) => ({
      name: `${definition.name}.${String(example.action ?? "-")} #${index}`,
      event: definition.name,
      payload: example,
    })),
  );

describe("handlers fed GitHub's example payloads", () => {
  let store: JobStore;
  beforeAll(async () => {
    store = await openStore({ url: ":memory:" });
  });
  afterAll(async () => {
    await store.close();
  });

  it("covers every subscribed event", () => {
    expect(new Set(cases.map((entry) => entry.event))).toEqual(new Set(SUBSCRIBED));
  });

  it.each(cases)("$name does not throw", async ({ event, payload }) => {
    const process = createDeliveryProcessor({
      store,
      log: pino({ level: "silent" }),
      now: () => new Date("2026-01-01T00:00:00Z"),
      dryRun: false,
      host: "github.com",
      portFor: () => Promise.resolve(plainPort()),
      botLogin: () => Promise.resolve("kanbot[bot]"),
    });
    const delivery: Delivery = {
      deliveryId: `example-${event}`,
      event,
      action: typeof payload.action === "string" ? payload.action : undefined,
      installationId: 1,
      payload: payload as JsonValue,
      orderingKey: "example",
      status: "pending",
      attempts: 0,
      nextAttemptAt: new Date(0),
      lastError: undefined,
      receivedAt: new Date(0),
      processedAt: undefined,
    };

    await expect(process(delivery)).resolves.toBeUndefined();
  });
});
