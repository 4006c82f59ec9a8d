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
import type { IssueComment } from "../github/port.js";
import { resolveLabelNames, type LabelNames } from "../domain/labels.js";
import { DEFAULT_BACKOFF } from "../domain/backoff.js";
import type { TaskPolicy } from "../domain/task.js";
import { BUILT_IN_AGENTS } from "../domain/types.js";
import type { ServiceContext } from "./service-context.js";

/** The config, or its errors (with the `board` section when that alone is valid). */
export type LoadedRepoConfig = RepoConfigResult;

/** The repository's config (defaults when the file is missing), or its errors. */
export async function loadRepoConfig(
  ctx: ServiceContext,
  repo: RepoRef,
): Promise<LoadedRepoConfig> {
  const [text, offered] = await Promise.all([
    ctx.github.readFile(repo, REPO_CONFIG_PATH),
    ctx.store.listOfferedAgents(),
  ]);
  return parseRepoConfig(text, { knownAgents: offered });
}

/**
 * Says on the issue that the config is invalid and nothing was queued (formatRepoConfigErrors),
 * so the person who triggered the task learns what to fix.
 */
export async function reportInvalidConfig(
  ctx: ServiceContext,
  issue: IssueRef,
  errors: readonly RepoConfigError[],
): Promise<void> {
  ctx.log.warn({ issue, errors: errors.length }, "invalid .github/kanbot.yml: nothing queued");
  await ctx.github.createComment(issue, formatRepoConfigErrors(errors));
}

/**
 * {@link reportInvalidConfig}, unless kanbot's latest config report on the issue already says
 * exactly this ({@link isConfigReported}). For triggers GitHub may send many times with nobody
 * asking again (every edit of a card that sits in the trigger column), so the issue gets one
 * report per distinct set of problems; a report naming other problems is followed by a new one.
 */
export async function reportInvalidConfigOnce(
  ctx: ServiceContext,
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
export async function knownAgents(ctx: ServiceContext): Promise<string[]> {
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
  };
}
