/**
 * What a runner learns about a job it claimed: the protocol's `JobDescription`, built from the
 * stored task and job plus the repository's workspace settings (`.github/kanbot.yml`), which the
 * runner API resolves at every claim through its required `resolveWorkspace` (the store does not
 * keep them).
 */
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../config/repo-config.js";
import { extractAcceptanceCriteria } from "../domain/issue-text.js";
import { taskBranchName } from "../domain/task-branch.js";
import { parseQuestionInput } from "../domain/question.js";
import type { JobKind } from "../domain/types.js";
import { ISSUE_THREAD_LIMIT, storedIssueText, storedIssueTitle } from "../domain/untrusted-text.js";
import type { JobAttempt, JobDescription, JobWorkspace } from "../protocol/index.js";
import type { Job, Task } from "../store/index.js";

/** The workspace settings of a job's repository; every field falls back to kanbot's default. */
export interface JobWorkspaceSettings {
  /** Undefined: the repository's default branch. */
  baseBranch?: string;
  /** Default `kanbot/`. */
  branchPrefix?: string;
  setupCommands?: readonly string[];
  copyFiles?: readonly string[];
  validationCommands?: readonly string[];
  validationRounds?: number;
  forbiddenPaths?: readonly string[];
}

/**
 * Reads a job's workspace settings, typically from `.github/kanbot.yml` on the default branch.
 * A throw fails the claimed job with the error's message (the runner never works a job whose
 * validation commands or forbidden paths are unknown).
 */
export type ResolveJobWorkspace = (facts: {
  task: Task;
  job: Job;
}) => Promise<JobWorkspaceSettings>;

export interface DescribeJobLimits {
  maxLogBytes: number;
  maxBodyBytes: number;
}

/** `https://github.com`, or `https://<GHE_HOST>` for GitHub Enterprise Server. */
export function gitHubWebUrl(settings: {
  GHE_HOST?: string | undefined;
  GHE_PROTOCOL: string;
}): string {
  return settings.GHE_HOST === undefined
    ? "https://github.com"
    : `${settings.GHE_PROTOCOL}://${settings.GHE_HOST}`;
}

export { taskBranchName };

/** A repository's workspace settings, as its parsed `.github/kanbot.yml` says. */
export function workspaceSettingsOf(config: RepoConfig): JobWorkspaceSettings {
  return {
    ...(config.baseBranch === undefined ? {} : { baseBranch: config.baseBranch }),
    branchPrefix: config.branchPrefix,
    setupCommands: config.setup.commands,
    copyFiles: config.setup.copyFiles,
    validationCommands: config.validation.commands,
    validationRounds: config.validation.rounds,
    forbiddenPaths: config.forbiddenPaths,
  };
}

/** The task's branch: the stored one, else the one `settings` name (fixed at the first claim). */
export function branchForTask(task: Task, settings: JobWorkspaceSettings): string {
  return (
    task.branch ??
    taskBranchName(
      settings.branchPrefix ?? DEFAULT_REPO_CONFIG.branchPrefix,
      task.issueNumber,
      task.title,
    )
  );
}

/**
 * Where a job starts, decided here and nowhere else, and carried to the runner as
 * `workspace.continueBranch`: `implement` creates the task branch from the base; the follow-ups
 * (fix-checks, revise, rebase) continue the task branch on the remote, where the pull request's
 * commits are. `answer` continues the branch when the task has a PR (a follow-up asked), and
 * otherwise starts it from the base like the `implement` job that asked (which pushed nothing).
 */
export function continuesTaskBranch(kind: JobKind, hasPullRequest = true): boolean {
  if (kind === "answer") return hasPullRequest;
  return kind !== "implement";
}

/** Earlier jobs a prompt shows at most (the newest). */
export const MAX_JOB_HISTORY = 10;

/** How long one earlier job's message may be in the prompt. */
const MAX_HISTORY_MESSAGE = 500;

/**
 * The task's earlier jobs that ended, oldest first, for the next agent's prompt (issue 14
 * part 4): agent, outcome, failure class and the message behind it.
 */
export function jobHistory(job: Pick<Job, "id">, jobs: readonly Job[]): JobAttempt[] {
  return jobs
    .filter((earlier) => earlier.id < job.id)
    .filter((earlier) => earlier.status !== "queued" && earlier.status !== "leased")
    .sort((a, b) => a.id - b.id)
    .slice(-MAX_JOB_HISTORY)
    .map((earlier) => {
      const result = earlier.result;
      const failed = earlier.status === "failed";
      const text = failed
        ? (result?.failureMessage ?? earlier.error)
        : earlier.status === "succeeded"
          ? result?.summary
          : earlier.status === "needs-input"
            ? `asked: ${result?.question ?? ""}`
            : (result?.reason ?? earlier.error);
      const message = oneLine(text ?? "");
      const outcome = earlier.status as JobAttempt["outcome"];
      return {
        attempt: earlier.attempt,
        kind: earlier.kind,
        agent: earlier.agent,
        outcome,
        ...(failed ? { failureClass: result?.failureClass ?? "task" } : {}),
        ...(message === "" ? {} : { message }),
      };
    });
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_HISTORY_MESSAGE ? `${line.slice(0, MAX_HISTORY_MESSAGE - 1)}…` : line;
}

/**
 * The agent session an `answer` job continues (issue 14, part 2): the session of the task's
 * latest `needs-input` job, only when the runner that claimed the answer job is the runner that
 * ran the asking job with the same agent, since only that runner keeps the CLI's session files
 * (`<workDir>/agent-home/<task>`). Undefined otherwise: the agent starts afresh with the summary.
 */
export function sessionToResume(
  job: Pick<Job, "id" | "kind" | "agent" | "runnerId">,
  jobs: readonly Job[],
): string | undefined {
  if (job.kind !== "answer" || job.runnerId === undefined) return undefined;
  const asker = jobs
    .filter((earlier) => earlier.id < job.id && earlier.status === "needs-input")
    .sort((a, b) => b.id - a.id)[0];
  if (asker === undefined || asker.runnerId !== job.runnerId || asker.agent !== job.agent) {
    return undefined;
  }
  return asker.result?.sessionId;
}

/**
 * The job's input as the runner gets it: an `answer` job's question and answer as an object
 * (the machine keeps them as JSON text, src/domain/question.ts); other inputs as stored.
 */
export function jobInput(job: Pick<Job, "kind" | "input">): JobDescription["input"] {
  if (job.kind !== "answer") return job.input ?? null;
  const parsed = parseQuestionInput(job.input);
  return parsed === undefined ? (job.input ?? null) : { ...parsed };
}

export function describeJob(
  job: Job,
  task: Task,
  settings: JobWorkspaceSettings,
  context: {
    githubWebUrl: string;
    limits: DescribeJobLimits;
    history?: readonly JobAttempt[];
    /** The CLI session this runner holds for an `answer` job ({@link sessionToResume}). */
    resumeSessionId?: string;
  },
): JobDescription {
  const [owner = "", name = ""] = job.repo.split("/");
  const web = context.githubWebUrl.replace(/\/+$/, "");
  const defaults = DEFAULT_REPO_CONFIG;
  const workspace: JobWorkspace = {
    baseBranch: settings.baseBranch ?? defaults.baseBranch ?? null,
    branch: branchForTask(task, settings),
    continueBranch: continuesTaskBranch(job.kind, task.prNumber !== undefined),
    setupCommands: [...(settings.setupCommands ?? defaults.setup.commands)],
    copyFiles: [...(settings.copyFiles ?? defaults.setup.copyFiles)],
    validationCommands: [...(settings.validationCommands ?? defaults.validation.commands)],
    validationRounds: settings.validationRounds ?? defaults.validation.rounds,
    forbiddenPaths: [...(settings.forbiddenPaths ?? defaults.forbiddenPaths)],
  };
  return {
    id: job.id,
    taskId: task.id,
    kind: job.kind,
    attempt: job.attempt,
    agent: job.agent,
    repository: {
      fullName: job.repo,
      owner,
      name,
      cloneUrl: `${web}/${job.repo}.git`,
      htmlUrl: `${web}/${job.repo}`,
    },
    issue: {
      number: task.issueNumber,
      // Capped again: a task stored before the cap existed must not reach the runner uncapped.
      title: storedIssueTitle(task.title),
      body: storedIssueText(task.body, ISSUE_THREAD_LIMIT),
      comments: [],
      acceptanceCriteria: extractAcceptanceCriteria(storedIssueText(task.body, ISSUE_THREAD_LIMIT)),
      url: `${web}/${job.repo}/issues/${task.issueNumber}`,
    },
    workspace,
    input: jobInput(job),
    limits: {
      maxMinutes: Math.max(0, task.budget.minutes - task.used.minutes),
      maxUsd: Math.max(0, task.budget.usd - task.used.usd),
      maxLogBytes: context.limits.maxLogBytes,
      maxBodyBytes: context.limits.maxBodyBytes,
    },
    ...(context.history === undefined || context.history.length === 0
      ? {}
      : { history: [...context.history] }),
    ...(context.resumeSessionId === undefined
      ? {}
      : { resume: { sessionId: context.resumeSessionId } }),
  };
}
