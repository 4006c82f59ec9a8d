/**
 * The handlers' integration harness: the kanbot app in a test Probot, a real SQLite store in a
 * temporary folder and the inbox worker, driven by hand (`drain()` processes every recorded
 * delivery, so tests assert on outcomes, never on timing). Pair it with the strict GitHub mock:
 *
 *   const gh = setupGitHubMock();
 *   const ghp = portMocks(gh);
 *   const h = await createHarness(gh);
 *   appIdentity(gh); ghp.installationToken() ...
 *   await h.receive("issues", labeledPayload());
 *   await h.drain();
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import kanbotApp from "../../src/index.js";
import type { KanbotRuntime } from "../../src/inbox/kanbot-runtime.js";
import { openStore, type JobStore } from "../../src/store/index.js";
import type { GitHubMock } from "./github-mock.js";
import { fakeIssue } from "./github-fixtures.js";
import { issueNodeId, type GitHubPortMocks } from "./github-port-mocks.js";
import { webhookExample } from "./github-webhooks.js";
import { createTestProbot, type TestProbot, type WebhookPayload } from "./probot.js";
import type { IssueRef } from "../../src/domain/dependencies.js";
import { stateLabelDefinition, resolveLabelNames } from "../../src/domain/labels.js";
import type { TaskState } from "../../src/domain/types.js";
import type { ProjectBoard } from "../../src/github/port.js";

/** kanbot's app slug in tests, and so its bot login. */
export const TEST_APP_SLUG = "kanbot";
export const BOT_LOGIN = `${TEST_APP_SLUG}[bot]`;

/** The repository of GitHub's example payloads. */
export const REPO = { owner: "Codertocat", repo: "Hello-World" } as const;

export function issueRef(number: number): IssueRef {
  return { ...REPO, number };
}

export interface Harness extends TestProbot {
  store: JobStore;
  runtime: KanbotRuntime;
  /** The SQLite file, for a restart on the same database. */
  databasePath: string;
  /** Processes every due delivery; returns how many. */
  drain(): Promise<number>;
  /** Stops the worker and closes the store (the temp folder is removed by `cleanup`). */
  close(): Promise<void>;
}

const dirs: string[] = [];

/** A temp folder for a SQLite file. */
export function tempDatabasePath(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kanbot-handlers-"));
  dirs.push(dir);
  return path.join(dir, "kanbot.sqlite");
}

/** Removes the temp folders; `afterAll`. */
export function cleanupHarnessFolders(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function createHarness(
  gh: GitHubMock,
  options: {
    databasePath?: string;
    dryRun?: boolean;
    log?: Logger;
    /** The inbox's attempt cap (store and handlers alike); default the store's (8). */
    deliveryMaxAttempts?: number;
    /** The first retry delay of a failed delivery; default the store's (5 s). */
    deliveryBackoffBaseMs?: number;
  } = {},
): Promise<Harness> {
  const databasePath = options.databasePath ?? tempDatabasePath();
  const cap = options.deliveryMaxAttempts;
  const store = await openStore({
    url: databasePath,
    policy: {
      ...(cap === undefined ? {} : { deliveryMaxAttempts: cap }),
      ...(options.deliveryBackoffBaseMs === undefined
        ? {}
        : { deliveryBackoffBaseMs: options.deliveryBackoffBaseMs }),
    },
  });
  let runtime: KanbotRuntime | undefined;
  const probot = await createTestProbot({
    app: kanbotApp({
      store,
      dryRun: options.dryRun ?? false,
      ...(cap === undefined ? {} : { deliveryMaxAttempts: cap }),
      onRuntime: (created) => (runtime = created),
    }),
    baseUrl: gh.baseUrl,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  if (runtime === undefined) throw new Error("kanbot app did not build its runtime");
  const built = runtime;
  return {
    ...probot,
    store,
    runtime: built,
    databasePath,
    drain: () => built.worker.drain(),
    async close() {
      await built.worker.stop();
      await store.close();
    },
  };
}

/** One log line the app wrote, as pino writes it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps every line (warn = 40), for `createHarness(gh, { log })`. */
export function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split("\n")) {
        if (text.trim() !== "") lines.push(JSON.parse(text) as LogLine);
      }
      done();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}

/** `GET /app` with the app's JWT: kanbot learns its slug (and so its bot login) once. */
export function appIdentity(gh: GitHubMock, slug = TEST_APP_SLUG): void {
  gh.rest("GET", "/app").reply(200, {
    id: 123456,
    slug,
    node_id: "A_kwHOAAAB",
    name: slug,
    owner: { login: "octo-org", id: 1 },
  });
}

/** The issue fields of a trigger's issue, as {@link triggerMocks} and {@link labeledPayload} give them. */
export interface TriggerIssueFields {
  labels?: string[];
  title?: string;
  body?: string;
}

const TRIGGER_ISSUE_DEFAULTS = {
  labels: ["agent:ready"],
  title: "Add a widget",
  body: "Please add a widget.",
} as const;

/**
 * `issues.labeled` from GitHub's example, for `number` with `label`, sent by `sender`. Its
 * `issue` is the one {@link triggerMocks} describes (the same fields a `GET` would answer), which
 * the handler uses instead of reading the issue again.
 */
export function labeledPayload(
  options: {
    number?: number;
    label?: string;
    sender?: string;
    senderType?: string;
  } & TriggerIssueFields = {},
): WebhookPayload<"issues"> {
  const payload = webhookExample("issues", "labeled") as unknown as {
    label: { name: string };
    issue: Record<string, unknown>;
    sender: { login: string; type: string };
  };
  const number = options.number ?? 1;
  payload.label.name = options.label ?? "agent:ready";
  payload.issue = {
    ...payload.issue,
    ...fakeIssue(REPO, {
      number,
      labels: options.labels ?? [...TRIGGER_ISSUE_DEFAULTS.labels],
      title: options.title ?? TRIGGER_ISSUE_DEFAULTS.title,
      body: options.body ?? TRIGGER_ISSUE_DEFAULTS.body,
    }),
  };
  payload.sender.login = options.sender ?? "alice";
  payload.sender.type = options.senderType ?? "User";
  return payload as unknown as WebhookPayload<"issues">;
}

/** An `issue_comment.created` from GitHub's example with `body`, by `author`, on issue `number`. */
export function commentPayload(
  body: string,
  options: { number?: number; author?: string } = {},
): WebhookPayload<"issue_comment"> {
  const payload = webhookExample("issue_comment", "created") as WebhookPayload<"issue_comment"> & {
    comment: { body: string; user: { login: string } };
    issue: { number: number; pull_request?: unknown };
    sender: { login: string };
  };
  payload.comment.body = body;
  payload.comment.user.login = options.author ?? "alice";
  payload.sender.login = options.author ?? "alice";
  payload.issue.number = options.number ?? 1;
  delete payload.issue.pull_request;
  return payload;
}

export interface TriggerMocks extends TriggerIssueFields {
  number?: number;
  /** `.github/kanbot.yml`; null: none. */
  config?: string | null;
  sender?: string;
  /** The state the task ends in (its label is created and added). */
  state?: TaskState;
  blockedBy?: { ref: IssueRef; state: "open" | "closed" }[];
  /** Labels the repository has already. */
  existingLabels?: string[];
  /** Skip the label node ids' read (read earlier in this process). */
  labelIdsKnown?: boolean;
  /** The board card's move written with the labels (the test declares the board's reads). */
  card?: { board: ProjectBoard; itemId: string; option: string; field?: string };
  /** Skip `ensureLabels` (the state label was ensured earlier in this process). */
  labelsEnsured?: boolean;
  /** Skip the token request (Probot cached it earlier in the test). */
  tokenCached?: boolean;
  /** Skip `GET /app` (asked earlier in the test). */
  identityKnown?: boolean;
  commentId?: number;
  /**
   * The handler reads the issue (`GET …/issues/{number}`): a command or a card move, whose
   * payload kanbot does not take the issue from. Default false (a label trigger).
   */
  issueRead?: boolean;
}

/**
 * The reads a trigger label of issue `number` begins together with the config read, before the
 * permission check decides: dependencies and comments (not the issue, which the payload holds).
 * A refused or invalid-config trigger makes them too, and uses none.
 */
export function labelTriggerReads(ghp: GitHubPortMocks, number = 1): void {
  const ref = issueRef(number);
  ghp.blockedBy(ref, []);
  ghp.subIssues(ref, []);
  ghp.comments(ref, []);
}

/**
 * The calls one accepted label trigger of issue `number` makes: config, permission,
 * dependencies and comments (read together), the state label (created), the trigger label
 * removed, the state label added, the progress comment created. The issue is not read: the
 * handler takes it from the payload, which this returns (send it, or a {@link labeledPayload}
 * with the same fields).
 */
export function triggerMocks(
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  options: TriggerMocks = {},
): WebhookPayload<"issues"> {
  const number = options.number ?? 1;
  const ref = issueRef(number);
  const state = options.state ?? "queued";
  const names = resolveLabelNames();
  if (options.identityKnown !== true) appIdentity(gh);
  if (options.tokenCached !== true) ghp.installationToken();
  ghp.file(REPO, ".github/kanbot.yml", options.config ?? null);
  ghp.permission(REPO, options.sender ?? "alice", "write");
  const labels = options.labels ?? [...TRIGGER_ISSUE_DEFAULTS.labels];
  if (options.issueRead === true) {
    ghp.issue(ref, {
      labels,
      title: options.title ?? TRIGGER_ISSUE_DEFAULTS.title,
      body: options.body ?? TRIGGER_ISSUE_DEFAULTS.body,
    });
  }
  ghp.blockedBy(ref, options.blockedBy ?? []);
  ghp.subIssues(ref, []);
  ghp.comments(ref, []);
  const definition = stateLabelDefinition(state, names);
  if (definition !== undefined && options.labelsEnsured !== true) {
    ghp.ensureLabels(REPO, { existing: options.existingLabels ?? [], create: [definition] });
  }
  const remove = labels.includes("agent:ready") ? ["agent:ready"] : [];
  const add = definition === undefined ? [] : [definition.name];
  if (remove.length + add.length + (options.card === undefined ? 0 : 1) >= 2) {
    if (options.labelIdsKnown !== true && remove.length + add.length > 0) ghp.labelNodeIds(REPO);
    ghp.writeIssueView(ref, {
      remove,
      add,
      ...(options.card === undefined ? {} : { card: options.card }),
    });
  } else {
    for (const name of remove) ghp.removeLabel(ref, name);
    if (add.length > 0) ghp.addLabels(ref, add);
  }
  ghp.createComment(ref, {
    body: /^<!-- kanbot:progress /,
    id: options.commentId ?? 1000 + number,
  });
  return labeledPayload({
    number,
    ...(options.sender === undefined ? {} : { sender: options.sender }),
    labels,
    title: options.title ?? TRIGGER_ISSUE_DEFAULTS.title,
    body: options.body ?? TRIGGER_ISSUE_DEFAULTS.body,
  });
}

export { issueNodeId };
