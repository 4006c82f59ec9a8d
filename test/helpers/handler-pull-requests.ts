/**
 * The PR half of the loop in the handlers' harness: steps that declare the GitHub calls one
 * event makes (strict mock: every call mocked, every mock used) and then deliver the event and
 * drain the inbox. Runner-side events go through the runtime's internal events, exactly as the
 * runner API's hooks record them (`jobClaimed`, `jobFinished`, `leasesExpired`).
 *
 *   const h = await createHarness(gh);
 *   await queueTask(h, gh, ghp);
 *   const lease = await claimStep(h, ghp);
 *   await succeedStep(h, ghp, ghpr, lease, { headSha: HEAD_1 });
 */
import { resolveLabelNames, stateLabelDefinition } from "../../src/domain/labels.js";
import type { TaskState } from "../../src/domain/types.js";
import type { ClaimedJob, JsonValue } from "../../src/store/index.js";
import type { ProjectBoard } from "../../src/github/port.js";
import type { GitHubMock } from "./github-mock.js";
import { webhookExample } from "./github-webhooks.js";
import type { WebhookPayload } from "./probot.js";
import type { GitHubPortMocks } from "./github-port-mocks.js";
import {
  fakePullRequest,
  fakeSha,
  pullRequestNodeId,
  type CheckRunSpec,
  type PullRequestPortMocks,
  type StatusSpec,
} from "./github-pr-mocks.js";
import {
  REPO,
  issueRef,
  triggerMocks,
  type Harness,
  type TriggerMocks,
} from "./handler-harness.js";

export const TASK_BRANCH = "kanbot/1-add-a-widget";
export const PR_NUMBER = 7;
export const PR_REF = { ...REPO, number: PR_NUMBER };
export const PR_NODE_ID = pullRequestNodeId(PR_REF);
export const PROGRESS_COMMENT_ID = 1001;
export const HEAD_1 = fakeSha("head-1");
export const HEAD_2 = fakeSha("head-2");
export const ISSUE_BODY =
  "Please add a widget.\n\n## Acceptance criteria\n\n- [ ] the widget shows";

/** The label of `state` under the default names. */
export function stateLabel(state: TaskState): string {
  return stateLabelDefinition(state, resolveLabelNames())?.name ?? "";
}

/** The issue's reads at the start of every task event: config and the issue with its label. */
export function taskEventMocks(
  ghp: GitHubPortMocks,
  options: { labels: string[]; config?: string | null; configRead?: boolean },
): void {
  if (options.configRead !== false) {
    ghp.file(REPO, ".github/kanbot.yml", options.config ?? null);
  }
  ghp.issue(issueRef(1), { labels: options.labels, title: "Add a widget", body: ISSUE_BODY });
}

/** A board card's move written with the issue's view (`ghp.writeIssueView`'s card part). */
export interface ViewCard {
  board: ProjectBoard;
  itemId: string;
  option: string;
  field?: string;
}

/**
 * The state mirror of one transition: `from`'s label off, `to`'s on (created the first time in
 * this test, as the label memo is per process), and the progress comment edited.
 */
export function mirrorMocks(
  ghp: GitHubPortMocks,
  from: TaskState,
  to: TaskState,
  options: {
    labelKnown?: boolean;
    comment?: RegExp;
    /** A new process: the label and comment node ids are read again (their memo died). */
    nodeIdsRead?: boolean;
    /** The board card's move, written in the same request (the test declares the board's reads). */
    card?: ViewCard;
  } = {},
): void {
  const names = resolveLabelNames();
  const definition = stateLabelDefinition(to, names);
  if (definition !== undefined && options.labelKnown !== true) {
    ghp.ensureLabels(REPO, { existing: [], create: [definition] });
  }
  const remove = from !== to ? [stateLabel(from)] : [];
  const add = definition !== undefined && from !== to ? [definition.name] : [];
  if (remove.length + add.length === 0) {
    ghp.updateComment(REPO, PROGRESS_COMMENT_ID, {
      issueNumber: 1,
      ...(options.comment === undefined ? {} : { body: options.comment }),
    });
    return;
  }
  if (options.nodeIdsRead === true) {
    ghp.labelNodeIds(REPO);
    ghp.commentNodeId(REPO, PROGRESS_COMMENT_ID, 1);
  }
  ghp.writeIssueView(issueRef(1), {
    remove,
    add,
    ...(options.card === undefined ? {} : { card: options.card }),
    comment: {
      id: PROGRESS_COMMENT_ID,
      ...(options.comment === undefined ? {} : { body: options.comment }),
    },
  });
}

/** A person labels issue 1 `agent:ready`: the task is queued with an `implement` job. */
export async function queueTask(
  h: Harness,
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  options: TriggerMocks = {},
): Promise<void> {
  await h.receive("issues", triggerMocks(gh, ghp, { body: ISSUE_BODY, ...options }));
  await h.drain();
}

/** A runner claims the next job; the task is `running`. */
export async function claimStep(
  h: Harness,
  ghp: GitHubPortMocks,
  options: {
    from?: TaskState;
    labelKnown?: boolean;
    config?: string | null;
    leaseMs?: number;
    /** The kind of the job claimed (for the progress comment's line). Default `implement`. */
    kind?: string;
    /** The board card's move to In progress, written with the labels and comment. */
    card?: ViewCard;
  } = {},
): Promise<ClaimedJob> {
  const from = options.from ?? "queued";
  taskEventMocks(ghp, { labels: [stateLabel(from)], config: options.config ?? null });
  mirrorMocks(ghp, from, "running", {
    labelKnown: options.labelKnown ?? false,
    comment: new RegExp(`picked up the ${options.kind ?? "implement"} job`),
    ...(options.card === undefined ? {} : { card: options.card }),
  });
  const claimed = await h.store.claimJob(
    { runnerId: "runner-1", agents: ["claude"], labels: [], repos: [] },
    options.leaseMs ?? 60_000,
  );
  if (claimed === undefined) throw new Error("no job to claim");
  await h.runtime.internal.jobClaimed(claimed.job);
  await h.drain();
  return claimed;
}

/** What a runner reports on success. */
export function successResult(headSha: string, summary = "Added the widget."): JsonValue {
  return {
    headSha,
    summary,
    validation: [
      { command: "npm test", exitCode: 0, passed: true, durationSeconds: 12 },
    ] as JsonValue,
    costUsd: 0.42,
    durationSeconds: 300,
  };
}

/**
 * The lease holder reports success with `headSha`: for the first job the draft PR is opened,
 * for a follow-up the PR is updated; the `kanbot` check run goes on the head; state `checks`.
 */
/** The task's draft PR opened on the default branch `main` (`POST /pulls`). */
export function draftPullOpens(ghp: GitHubPortMocks, ghpr: PullRequestPortMocks): void {
  ghp.defaultBranch(REPO, "main");
  ghpr.createDraftPullRequest(REPO, {
    number: PR_NUMBER,
    head: TASK_BRANCH,
    base: "main",
    title: "Add a widget (#1)",
  });
}

/** The `kanbot` check run posted on `headSha` with a finished job's result. */
export function kanbotCheckRun(
  ghpr: PullRequestPortMocks,
  headSha: string,
  checkRunId = 5001,
): void {
  ghpr.createCheckRun(
    REPO,
    { head_sha: headSha, name: "kanbot", status: "completed", conclusion: "success" },
    { id: checkRunId },
  );
}

export async function succeedStep(
  h: Harness,
  ghp: GitHubPortMocks,
  ghpr: PullRequestPortMocks,
  lease: ClaimedJob,
  options: {
    headSha: string;
    followUp?: boolean;
    labelKnown?: boolean;
    checkRunId?: number;
    config?: string | null;
    /** The gate finds no checks on the new head and waits, so the progress comment is edited
     * once more to say what it waits for: this text (see `gateWaitingComment`), by default the
     * no-checks wait. False when the gate does not wait (a wait of 0 minutes: declare what
     * follows in the test). */
    waiting?: RegExp | string | false;
  },
): Promise<void> {
  taskEventMocks(ghp, { labels: [stateLabel("running")], config: options.config ?? null });
  if (options.followUp === true) {
    ghpr.gh
      .rest(
        "PATCH",
        `/repos/${REPO.owner}/${REPO.repo}/pulls/${PR_NUMBER}`,
        {},
        {
          body: (sent: unknown) =>
            typeof sent === "object" &&
            sent !== null &&
            String((sent as { body?: unknown }).body).includes("Closes #1"),
        },
      )
      .reply(200, () =>
        fakePullRequest(REPO, { number: PR_NUMBER, head: TASK_BRANCH }, ghpr.gh.urls),
      );
  } else {
    draftPullOpens(ghp, ghpr);
  }
  kanbotCheckRun(ghpr, options.headSha, options.checkRunId);
  mirrorMocks(ghp, "running", "checks", {
    labelKnown: options.labelKnown ?? false,
    comment: new RegExp(`pull/${PR_NUMBER}`),
  });
  // The gate looks at the new head at once (checks may have concluded before the report).
  gateReads(ghpr, options.headSha, []);
  if (options.waiting === undefined) noChecksWaitComment(ghp, options.headSha);
  else if (options.waiting !== false) gateWaitingComment(ghp, options.headSha, options.waiting);
  await h.store.appendLog(lease.job.id, lease.leaseToken, 1, "agent: editing src/widget.ts\n");
  const finished = await h.store.completeJob(lease.job.id, lease.leaseToken, {
    status: "succeeded",
    result: successResult(options.headSha),
  });
  await h.runtime.internal.jobFinished(finished);
  await h.drain();
}

/** The progress comment edited by a pending gate to show what it waits for on `sha`: `waiting`
 * is the line's text after the head, as written (markdown-escaped), or a pattern for it. */
export function gateWaitingComment(
  ghp: GitHubPortMocks,
  sha: string,
  waiting: RegExp | string,
): void {
  const text =
    typeof waiting === "string" ? waiting.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : waiting.source;
  ghp.updateComment(REPO, PROGRESS_COMMENT_ID, {
    issueNumber: 1,
    body: new RegExp(`- \\*\\*Checks on \`${sha.slice(0, 7)}\`:\\*\\* ${text}`),
  });
}

/** The progress comment edited by the gate when no check has appeared on `sha` yet. */
export function noChecksWaitComment(ghp: GitHubPortMocks, sha: string): void {
  gateWaitingComment(
    ghp,
    sha,
    /no checks on the head yet; waiting until \d{4}-\d\d-\d\dT[\d:]+Z\n/,
  );
}

/** The gate's reads on `sha`: check runs, statuses, and no required checks on `main` (unprotected, no rulesets). */
export function gateReads(
  ghpr: PullRequestPortMocks,
  sha: string,
  runs: readonly Omit<CheckRunSpec, "headSha">[],
  statuses: readonly StatusSpec[] = [],
): void {
  ghpr.checkRuns(REPO, sha, runs);
  ghpr.commitStatuses(REPO, sha, statuses);
  ghpr.branchProtection(REPO, "main", "unprotected");
  ghpr.branchRules(REPO, "main", []);
}

export { fakeSha };

// ---------------------------------------------------------------------------------------------
// Webhook payloads of the PR half, from GitHub's examples

/** `check_suite.completed` on `sha`, sent by a CI app. */
export function checkSuiteCompleted(sha: string): WebhookPayload<"check_suite"> {
  const payload = webhookExample("check_suite", "completed") as unknown as {
    check_suite: { head_sha: string; head_branch: string };
    sender: { login: string };
  };
  payload.check_suite.head_sha = sha;
  payload.check_suite.head_branch = TASK_BRANCH;
  payload.sender.login = "github-actions[bot]";
  return payload as unknown as WebhookPayload<"check_suite">;
}

/** `check_run.completed` of `name` on `sha`, made by the app `appSlug`. */
export function checkRunCompleted(
  sha: string,
  options: { name?: string; appSlug?: string; conclusion?: string } = {},
): WebhookPayload<"check_run"> {
  const payload = webhookExample("check_run", "completed") as unknown as {
    check_run: {
      head_sha: string;
      name: string;
      conclusion: string;
      app: { slug: string } | null;
      check_suite: { head_sha: string };
    };
    sender: { login: string };
  };
  payload.check_run.head_sha = sha;
  payload.check_run.check_suite.head_sha = sha;
  payload.check_run.name = options.name ?? "test";
  payload.check_run.conclusion = options.conclusion ?? "success";
  if (payload.check_run.app !== null) payload.check_run.app.slug = options.appSlug ?? "ci-app";
  payload.sender.login = `${options.appSlug ?? "ci-app"}[bot]`;
  return payload as unknown as WebhookPayload<"check_run">;
}

/** `status` of `context` on `sha` in `state`. */
export function statusEvent(
  sha: string,
  state: "pending" | "success" | "failure" | "error",
  context = "ci/circle",
): WebhookPayload<"status"> {
  const payload = webhookExample("status") as unknown as {
    sha: string;
    state: string;
    context: string;
    sender: { login: string };
  };
  payload.sha = sha;
  payload.state = state;
  payload.context = context;
  payload.sender.login = "circleci[bot]";
  return payload as unknown as WebhookPayload<"status">;
}

/** `pull_request_review.submitted` on the task's PR. */
export function reviewSubmitted(
  state: "approved" | "changes_requested" | "commented",
  options: { reviewer?: string; body?: string; id?: number } = {},
): WebhookPayload<"pull_request_review"> {
  const payload = webhookExample("pull_request_review", "submitted") as unknown as {
    review: { id: number; state: string; body: string | null; user: { login: string } };
    pull_request: { number: number };
    sender: { login: string };
  };
  payload.review.state = state;
  payload.review.body = options.body ?? null;
  payload.review.user.login = options.reviewer ?? "bob";
  if (options.id !== undefined) payload.review.id = options.id;
  payload.sender.login = options.reviewer ?? "bob";
  payload.pull_request.number = PR_NUMBER;
  return payload as unknown as WebhookPayload<"pull_request_review">;
}

/** `issue_comment.created` with `body` by `author` on the task's PR. */
export function prComment(body: string, author = "bob"): WebhookPayload<"issue_comment"> {
  const payload = webhookExample("issue_comment", "created") as unknown as {
    comment: { body: string; user: { login: string; type: string } };
    issue: { number: number; pull_request?: unknown };
    sender: { login: string; type: string };
  };
  payload.comment.body = body;
  payload.comment.user.login = author;
  payload.sender.login = author;
  payload.issue.number = PR_NUMBER;
  payload.issue.pull_request ??= {
    url: `https://api.github.com/repos/${REPO.owner}/${REPO.repo}/pulls/${PR_NUMBER}`,
  };
  return payload as unknown as WebhookPayload<"issue_comment">;
}

/** `push` to `branch` (the base, by default) moving it to `after`. */
export function pushTo(branch = "main", after = fakeSha("base-2")): WebhookPayload<"push"> {
  const payload = webhookExample("push") as unknown as {
    ref: string;
    after: string;
    deleted: boolean;
    repository: { default_branch: string };
    sender: { login: string };
  };
  payload.ref = `refs/heads/${branch}`;
  payload.after = after;
  payload.deleted = false;
  payload.repository.default_branch = "main";
  payload.sender.login = "octocat";
  return payload as unknown as WebhookPayload<"push">;
}

/** `pull_request.closed` of the task's PR (head HEAD_1), merged or not. */
export function pullRequestClosed(merged: boolean): WebhookPayload<"pull_request"> {
  const payload = webhookExample("pull_request", "closed") as unknown as {
    number: number;
    pull_request: {
      number: number;
      merged: boolean;
      head: { ref: string; sha: string; repo: { full_name: string } };
      base: { ref: string };
    };
    repository: { default_branch: string };
    sender: { login: string };
  };
  payload.number = PR_NUMBER;
  payload.pull_request.number = PR_NUMBER;
  payload.pull_request.merged = merged;
  payload.pull_request.head.ref = TASK_BRANCH;
  payload.pull_request.head.sha = HEAD_1;
  payload.pull_request.head.repo.full_name = `${REPO.owner}/${REPO.repo}`;
  payload.pull_request.base.ref = "main";
  payload.repository.default_branch = "main";
  payload.sender.login = "octocat";
  return payload as unknown as WebhookPayload<"pull_request">;
}

/** `pull_request.synchronize` to `sha` on the task's PR, pushed by `sender`. */
export function synchronize(sha: string, sender = "octocat"): WebhookPayload<"pull_request"> {
  const payload = webhookExample("pull_request", "synchronize") as unknown as {
    number: number;
    pull_request: { number: number; head: { ref: string; sha: string } };
    sender: { login: string };
  };
  payload.number = PR_NUMBER;
  payload.pull_request.number = PR_NUMBER;
  payload.pull_request.head.ref = TASK_BRANCH;
  payload.pull_request.head.sha = sha;
  payload.sender.login = sender;
  return payload as unknown as WebhookPayload<"pull_request">;
}

/** The task of issue 1. */
export async function taskOf(h: Harness) {
  const task = await h.store.findTask(`${REPO.owner}/${REPO.repo}`, 1);
  if (task === undefined) throw new Error("no task for issue 1");
  return task;
}

/** Queued, claimed and succeeded with HEAD_1: the task waits for checks on its draft PR. */
export async function toChecks(
  h: Harness,
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  ghpr: PullRequestPortMocks,
  config: string | null = null,
  /** What the gate waits for on HEAD_1 (see `succeedStep`); default the no-checks wait. */
  waiting?: RegExp | string | false,
): Promise<void> {
  await queueTask(h, gh, ghp, { config });
  const lease = await claimStep(h, ghp, { config });
  await succeedStep(h, ghp, ghpr, lease, {
    headSha: HEAD_1,
    config,
    ...(waiting === undefined ? {} : { waiting }),
  });
}

/**
 * The checks pass on HEAD_1 (a `check_suite` event): ready for review, review requested from
 * alice (the starter), state `review`. `afterPass` declares what follows in the same delivery
 * (an auto-merge attempt).
 */
export async function passGate(
  h: Harness,
  ghp: GitHubPortMocks,
  ghpr: PullRequestPortMocks,
  options: {
    config?: string | null;
    afterPass?: () => void;
    /** The board card's move to In review, written with the labels and comment. */
    card?: ViewCard;
  } = {},
): Promise<void> {
  ghp.file(REPO, ".github/kanbot.yml", options.config ?? null);
  gateReads(ghpr, HEAD_1, [{ name: "test", conclusion: "success" }]);
  taskEventMocks(ghp, { labels: [stateLabel("checks")], configRead: false });
  ghpr.markReady(PR_NODE_ID);
  ghpr.requestReviewers(PR_REF, ["alice"]);
  mirrorMocks(ghp, "checks", "review", {
    comment: /ready for review/,
    ...(options.card === undefined ? {} : { card: options.card }),
  });
  options.afterPass?.();
  await h.receive("check_suite", checkSuiteCompleted(HEAD_1));
  await h.drain();
}
