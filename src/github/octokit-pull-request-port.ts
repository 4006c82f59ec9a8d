/**
 * The pull-request port (./pull-request-port.ts) on Octokit, composed from one part per GitHub
 * resource under ./pull-requests/: pulls (REST, and GraphQL from ./pull-request-graphql.ts for
 * ready-for-review, which REST cannot do), reviews, checks, required checks and Actions. Every
 * part takes the installation Octokit Probot gives, so GitHub Enterprise Server works through
 * Probot's base URL, REST and GraphQL alike; no host is named here.
 *
 * Expected outcomes are handled where they happen (a PR that exists already, a reviewer GitHub
 * refuses, a PR that cannot be merged, a branch already deleted, a log that expired, a base
 * branch that does not exist); everything else is thrown as a `GitHubError`.
 */
import type { Logger } from "pino";
import type { InstallationOctokit } from "./octokit-port.js";
import type { PullRequestPort } from "./pull-request-port.js";
import { octokitActions } from "./pull-requests/octokit-actions.js";
import { octokitCall } from "./pull-requests/octokit-call.js";
import { octokitChecks } from "./pull-requests/octokit-checks.js";
import { octokitPulls } from "./pull-requests/octokit-pulls.js";
import { octokitRequiredChecks } from "./pull-requests/octokit-required-checks.js";
import { octokitReviews } from "./pull-requests/octokit-reviews.js";
import { guardRepoNames } from "./repo-name-guard.js";

export interface PullRequestPortOptions {
  /** `context.log` in a handler, the worker's logger in the inbox. */
  log: Logger;
}

/** The pull-request port for one installation, on its authenticated Octokit. */
export function createPullRequestPort(
  octokit: InstallationOctokit,
  options: PullRequestPortOptions,
): PullRequestPort {
  const gh = octokitCall(octokit, options.log);
  const port: PullRequestPort = {
    ...octokitPulls(gh),
    ...octokitReviews(gh),
    ...octokitChecks(gh),
    ...octokitRequiredChecks(gh),
    ...octokitActions(gh),
  };
  // Every repository a call names is checked before a path is built from it.
  return guardRepoNames<PullRequestPort>(port, "PullRequestPort");
}
