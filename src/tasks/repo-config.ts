/**
 * Reads `.github/kanbot.yml` from the repository's default branch and parses it, with the
 * agents that registered runners offer counted as known.
 */
import {
  formatRepoConfigErrors,
  parseRepoConfig,
  REPO_CONFIG_PATH,
  type RepoConfig,
  type RepoConfigError,
  type RepoConfigResult,
} from "../config/repo-config.js";
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import type { Logger } from "pino";
import { redactText } from "../domain/redaction.js";
import { workspaceSettingsOf, type ResolveJobWorkspace } from "../api/describe-job.js";
import type { GitHubPort, IssueComment } from "../github/port.js";
import { resolveLabelNames, type LabelNames } from "../domain/labels.js";
import { DEFAULT_BACKOFF } from "../domain/backoff.js";
import { budgetLabelOverride, budgetWithLabels } from "../domain/budget.js";
import type { TaskPolicy } from "../domain/task.js";
import { BUILT_IN_AGENTS } from "../domain/types.js";
import type { TaskContext } from "./context.js";

/** The config, or its errors (with the `board` section when that alone is valid). */
export type LoadedRepoConfig = RepoConfigResult;

/**
 * The repository's config (defaults when the file is missing), or its errors. The file is read
 * once per context (one event: `ctx.configReads`); the agents runners offer are asked each time.
 */
export async function loadRepoConfig(ctx: TaskContext, repo: RepoRef): Promise<LoadedRepoConfig> {
  const [text, offered] = await Promise.all([
    readRepoConfigText(ctx, repo),
    ctx.store.listOfferedAgents(),
  ]);
  return parseRepoConfig(text, { knownAgents: offered });
}

/** `.github/kanbot.yml`'s text, from the context's earlier read when there is one. */
function readRepoConfigText(ctx: TaskContext, repo: RepoRef): Promise<string | undefined> {
  const reads = ctx.configReads;
  if (reads === undefined) return ctx.github.readFile(repo, REPO_CONFIG_PATH);
  const key = `${repo.owner}/${repo.repo}`.toLowerCase();
  let read = reads.get(key);
  if (read === undefined) {
    read = ctx.github.readFile(repo, REPO_CONFIG_PATH);
    // A failed read is not remembered: a later step (or the retry) asks again.
    const pending = read;
    pending.catch(() => {
      if (reads.get(key) === pending) reads.delete(key);
    });
    reads.set(key, read);
  }
  return read;
}

/**
 * Says on the issue that the config is invalid and nothing was queued (formatRepoConfigErrors),
 * so the person who triggered the task learns what to fix.
 */
export async function reportInvalidConfig(
  ctx: TaskContext,
  issue: IssueRef,
  errors: readonly RepoConfigError[],
): Promise<void> {
  ctx.log.warn({ issue, errors: errors.length }, "invalid .github/kanbot.yml: nothing queued");
  await ctx.github.createComment(issue, redactText(formatRepoConfigErrors(errors)));
}

/**
 * {@link reportInvalidConfig}, unless kanbot's latest config report on the issue already says
 * exactly this ({@link isConfigReported}). For triggers GitHub may send many times with nobody
 * asking again (every edit of a card that sits in the trigger column), so the issue gets one
 * report per distinct set of problems; a report naming other problems is followed by a new one.
 */
export async function reportInvalidConfigOnce(
  ctx: TaskContext,
  issue: IssueRef,
  errors: readonly RepoConfigError[],
): Promise<void> {
  const comments = await ctx.github.listComments(issue);
  if (isConfigReported(comments, formatRepoConfigErrors(errors), ctx.botLogin)) {
    ctx.log.info({ issue }, "invalid .github/kanbot.yml already reported on the issue");
    return;
  }
  await reportInvalidConfig(ctx, issue, errors);
}

/**
 * Whether the newest config report among `comments` (oldest first, as GitHub lists them) written
 * by `botLogin` is `report`. Comments by anyone else never count.
 */
export function isConfigReported(
  comments: readonly Pick<IssueComment, "author" | "body">[],
  report: string,
  botLogin: string,
): boolean {
  const heading = report.split("\n", 1)[0] ?? "";
  const bot = botLogin.toLowerCase();
  const latest = comments
    .filter((comment) => comment.author.toLowerCase() === bot)
    .filter((comment) => comment.body.split("\n", 1)[0] === heading)
    .at(-1);
  return latest !== undefined && latest.body.trimEnd() === report.trimEnd();
}

/** Every agent that can be asked for: the built-in ones and those a runner offers. */
export async function knownAgents(ctx: TaskContext): Promise<string[]> {
  return [...new Set([...BUILT_IN_AGENTS, ...(await ctx.store.listOfferedAgents())])];
}

/** The label names of a repository's config. */
export function labelNamesOf(config: RepoConfig): LabelNames {
  const { trigger, ...states } = config.labels;
  return resolveLabelNames({ trigger, states });
}

/** The state machine's policy from a repository's config. */
export function taskPolicyOf(config: RepoConfig): TaskPolicy {
  return {
    budget: {
      attempts: config.budget.attempts,
      minutes: config.budget.minutes,
      usd: config.budget.usd,
    },
    maxLostLeases: config.budget.lostLeases,
    backoff: DEFAULT_BACKOFF,
    deleteBranchOnMerge: config.merge.deleteBranch,
    fallback: { agents: config.agents.fallback, after: config.agents.fallbackAfter },
    answerTimeoutHours: config.questions.answerTimeoutHours,
  };
}

/**
 * The policy for one event of a task: the repository's, with the budget the issue's budget
 * labels set (`budget:5usd`, `budget:30m`; src/domain/budget.ts). A start or re-run (`start`)
 * takes the values of the labels it honours (those added by someone with the trigger permission,
 * ./budget-label.ts `honouredBudgetLabels`); any other event takes those limits from the task's
 * stored budget, which only a person with the trigger permission changes
 * (src/handlers/on-issues-labeled.ts), so a label added by anyone else changes nothing.
 */
export function taskPolicyFor(
  config: RepoConfig,
  labels: readonly string[],
  task: { budget: TaskPolicy["budget"] } | undefined,
  start: { budgetLabels?: readonly string[] | undefined } | undefined,
): TaskPolicy {
  const policy = taskPolicyOf(config);
  const budget =
    start !== undefined || task === undefined
      ? budgetWithLabels(policy.budget, labels, budgetLabelOverride(start?.budgetLabels ?? []))
      : budgetWithLabels(policy.budget, labels, task.budget);
  return { ...policy, budget };
}

/** What {@link createWorkspaceResolver} reads with. */
export interface WorkspaceResolverDeps {
  store: Pick<TaskContext["store"], "listOfferedAgents">;
  /** The GitHub port of one installation (the task's). */
  portFor: (installationId: number, log: Logger) => Promise<Pick<GitHubPort, "readFile">>;
  log: Logger;
}

/**
 * The runner API's `resolveWorkspace`: reads the task's repository's `.github/kanbot.yml` from its
 * default branch (as the trigger did) at every claim, so a job carries the repository's base,
 * branch prefix, setup, validation and forbidden paths. An invalid file fails the job with the
 * file's own problems, never kanbot's defaults.
 */
export function createWorkspaceResolver(deps: WorkspaceResolverDeps): ResolveJobWorkspace {
  return async ({ task }) => {
    const repo = repoRefOf(task.repo);
    const port = await deps.portFor(task.installationId, deps.log);
    const [text, offered] = await Promise.all([
      port.readFile(repo, REPO_CONFIG_PATH),
      deps.store.listOfferedAgents(),
    ]);
    const result = parseRepoConfig(text, { knownAgents: offered });
    if (!result.ok) throw new InvalidRepoConfigError(task.repo, result.errors);
    return workspaceSettingsOf(result.config);
  };
}

/** `.github/kanbot.yml` cannot be used: its problems, one per line, for the job's error. */
export class InvalidRepoConfigError extends Error {
  readonly repo: string;
  readonly errors: readonly RepoConfigError[];

  constructor(repo: string, errors: readonly RepoConfigError[]) {
    const lines = errors.slice(0, 10).map((error) => {
      const where =
        error.line === undefined
          ? REPO_CONFIG_PATH
          : `${REPO_CONFIG_PATH}:${error.line}:${error.column ?? 1}`;
      return error.path === ""
        ? `${where}: ${error.message}`
        : `${where}: ${error.path}: ${error.message}`;
    });
    if (errors.length > 10) lines.push(`… and ${errors.length - 10} more`);
    super(
      `${REPO_CONFIG_PATH} in ${repo} is invalid; fix it on the default branch and retry the task (/kanbot retry):\n${lines.join("\n")}`,
    );
    this.name = "InvalidRepoConfigError";
    this.repo = repo;
    this.errors = errors;
  }
}

function repoRefOf(fullName: string): RepoRef {
  const [owner = "", repo = ""] = fullName.split("/");
  return { owner, repo };
}
