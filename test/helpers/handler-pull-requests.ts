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
import type { GitHubMock } from "./github-mock.js";
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
  labeledPayload,
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

/**
 * The state mirror of one transition: `from`'s label off, `to`'s on (created the first time in
 * this test, as the label memo is per process), and the progress comment edited.
 */
export function mirrorMocks(
  ghp: GitHubPortMocks,
  from: TaskState,
  to: TaskState,
  options: { labelKnown?: boolean; comment?: RegExp } = {},
): void {
  const names = resolveLabelNames();
  const definition = stateLabelDefinition(to, names);
  if (definition !== undefined && options.labelKnown !== true) {
    ghp.ensureLabels(REPO, { existing: [], create: [definition] });
  }
  if (from !== to) ghp.removeLabel(issueRef(1), stateLabel(from));
  if (definition !== undefined && from !== to) ghp.addLabels(issueRef(1), [definition.name]);
  ghp.updateComment(REPO, PROGRESS_COMMENT_ID, {
    issueNumber: 1,
    ...(options.comment === undefined ? {} : { body: options.comment }),
  });
}

/** A person labels issue 1 `agent:ready`: the task is queued with an `implement` job. */
export async function queueTask(
  h: Harness,
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  options: TriggerMocks = {},
): Promise<void> {
  triggerMocks(gh, ghp, { body: ISSUE_BODY, ...options });
  await h.receive("issues", labeledPayload());
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
  } = {},
): Promise<ClaimedJob> {
  const from = options.from ?? "queued";
  taskEventMocks(ghp, { labels: [stateLabel(from)], config: options.config ?? null });
  mirrorMocks(ghp, from, "running", {
    labelKnown: options.labelKnown ?? false,
    comment: /picked up the implement job/,
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
    ghp.defaultBranch(REPO, "main");
    ghpr.createDraftPullRequest(REPO, {
      number: PR_NUMBER,
      head: TASK_BRANCH,
      base: "main",
      title: "Add a widget (#1)",
    });
  }
  ghpr.createCheckRun(
    REPO,
    { head_sha: options.headSha, name: "kanbot", status: "completed", conclusion: "success" },
    { id: options.checkRunId ?? 5001 },
  );
  mirrorMocks(ghp, "running", "checks", {
    labelKnown: options.labelKnown ?? false,
    comment: new RegExp(`pull/${PR_NUMBER}`),
  });
  await h.store.appendLog(lease.job.id, lease.leaseToken, 1, "agent: editing src/widget.ts\n");
  const finished = await h.store.completeJob(lease.job.id, lease.leaseToken, {
    status: "succeeded",
    result: successResult(options.headSha),
  });
  await h.runtime.internal.jobFinished(finished);
  await h.drain();
}

/** The gate's reads on `sha`: check runs, statuses, and no required checks on `main`. */
export function gateReads(
  ghpr: PullRequestPortMocks,
  sha: string,
  runs: readonly Omit<CheckRunSpec, "headSha">[],
  statuses: readonly StatusSpec[] = [],
): void {
  ghpr.checkRuns(REPO, sha, runs);
  ghpr.commitStatuses(REPO, sha, statuses);
  ghpr.protectionRequiredChecks(REPO, "main", 404);
  ghpr.branchRules(REPO, "main", []);
}

export { fakeSha };
