/**
 * What every Octokit part of the pull-request port shares: the installation Octokit, the logger,
 * one `call` that turns anything Octokit throws into a `GitHubError`, and the small helpers for
 * reading GitHub's answers and naming what a call was about.
 */
import type { Logger } from "pino";
import type { RepoRef } from "../../domain/dependencies.js";
import { toGitHubError, type GitHubError } from "../errors.js";
import type { InstallationOctokit } from "../octokit-port.js";
import type { PullRequestRef } from "../pull-request-port.js";

/** The installation's Octokit and logger, and the one way the port's parts call GitHub. */
export interface OctokitCall {
  readonly octokit: InstallationOctokit;
  /** `context.log` in a handler, the worker's logger in the inbox. */
  readonly log: Logger;
  /** Runs one GitHub call; anything Octokit throws leaves as a GitHubError. */
  call<T>(action: string, run: () => Promise<T>): Promise<T>;
}

export function octokitCall(octokit: InstallationOctokit, log: Logger): OctokitCall {
  return {
    octokit,
    log,
    async call<T>(action: string, run: () => Promise<T>): Promise<T> {
      try {
        return await run();
      } catch (error) {
        throw toGitHubError(error, action, octokit.request.endpoint.DEFAULTS.baseUrl);
      }
    },
  };
}

/** Page size for every paginated REST list (GitHub's maximum). */
export const PER_PAGE = 100;

/** A user as GitHub's answers name one. */
export interface RestUser {
  login: string;
  type?: string;
}

export function oneOf<T extends string>(
  values: readonly T[],
  value: string | null | undefined,
): T | undefined {
  return values.find((candidate) => candidate === value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

export function formatPr(pr: PullRequestRef): string {
  return `${pr.owner}/${pr.repo}#${pr.number}`;
}

export function formatRepo(repo: RepoRef): string {
  return `${repo.owner}/${repo.repo}`;
}

/** Whether a 422 names this message among GitHub's validation errors. */
export function says(error: GitHubError, pattern: RegExp): boolean {
  return pattern.test(error.githubMessage);
}
