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
} from "../config/repo-config.js";
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import { resolveLabelNames, type LabelNames } from "../domain/labels.js";
import { DEFAULT_BACKOFF } from "../domain/backoff.js";
import type { TaskPolicy } from "../domain/task.js";
import { BUILT_IN_AGENTS } from "../domain/types.js";
import type { ServiceContext } from "./service-context.js";

export type LoadedRepoConfig =
  { ok: true; config: RepoConfig } | { ok: false; errors: RepoConfigError[] };

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
