/**
 * App-level calls (authenticated as the app, not as one installation): which installations
 * exist, and the port for one of them. The inbox worker and reconciliation on start use these;
 * handlers get `context.octokit` from Probot instead.
 */
import { useWriteBudget, type WriteBudgets } from "./write-budget.js";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { toGitHubError } from "./errors.js";
import {
  createGitHubPort,
  type GitHubReadCaches,
  type InstallationOctokit,
} from "./octokit-port.js";
import type { RepoRef } from "../domain/dependencies.js";
import type { GitHubPort } from "./port.js";

/** One installation of the app: where it is installed. */
export interface Installation {
  id: number;
  /** The organisation's or user's login. */
  account: string;
  /** Suspended installations get no calls; kanbot skips them. */
  suspended: boolean;
}

/**
 * Every installation of the app (`GET /app/installations`, paginated), with the app's own
 * Octokit (`await app.auth()` without an installation id).
 */
export async function listInstallations(appOctokit: InstallationOctokit): Promise<Installation[]> {
  try {
    const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, {
      per_page: 100,
    });
    return installations.map((installation) => ({
      id: installation.id,
      account: accountName(installation.account),
      suspended: installation.suspended_at !== null && installation.suspended_at !== undefined,
    }));
  } catch (error) {
    throw toGitHubError(error, "list the app's installations");
  }
}

/**
 * kanbot's own login, `<app slug>[bot]`, from `GET /app` with the app's Octokit (`await
 * app.auth()`): events whose sender is this login are kanbot's own and are ignored.
 */
export async function appBotLogin(appOctokit: InstallationOctokit): Promise<string> {
  let slug: string | undefined;
  try {
    const { data } = await appOctokit.rest.apps.getAuthenticated();
    slug = data?.slug;
  } catch (error) {
    throw toGitHubError(error, "read the app's own identity");
  }
  if (slug === undefined || slug === "") {
    throw new Error(
      "GitHub's GET /app answer has no slug, so kanbot cannot tell its own events apart: check APP_ID and PRIVATE_KEY.",
    );
  }
  return `${slug}[bot]`;
}

/**
 * The repositories an installation can reach (`GET /installation/repositories`, paginated),
 * with that installation's Octokit, except archived and disabled ones (kanbot can write to none
 * of those). Reconciliation on start walks these.
 */
export async function listInstallationRepositories(
  octokit: InstallationOctokit,
): Promise<RepoRef[]> {
  try {
    const repositories = await octokit.paginate(
      octokit.rest.apps.listReposAccessibleToInstallation,
      { per_page: 100 },
    );
    return repositories
      .filter((repository) => repository.archived !== true && repository.disabled !== true)
      .map((repository) => ({ owner: repository.owner.login, repo: repository.name }));
  } catch (error) {
    throw toGitHubError(error, "list the installation's repositories");
  }
}

/** An installation's account: a user or organisation login, or an enterprise's slug. */
function accountName(account: unknown): string {
  if (typeof account !== "object" || account === null) return "";
  const { login, slug } = account as { login?: unknown; slug?: unknown };
  if (typeof login === "string") return login;
  return typeof slug === "string" ? slug : "";
}

/**
 * The port for one installation, outside a webhook handler (the inbox worker): Probot mints
 * (and caches) the installation token. With `caches` (the process's, keyed by installation),
 * its rarely changing reads are conditional and its boards are kept (./octokit-port.ts).
 */
export async function gitHubPortForInstallation(
  app: Pick<Probot, "auth">,
  installationId: number,
  options: { log: Logger; writeBudgets?: WriteBudgets; caches?: GitHubReadCaches },
): Promise<GitHubPort> {
  let octokit: InstallationOctokit;
  try {
    octokit = await app.auth(installationId);
  } catch (error) {
    throw toGitHubError(error, `get a token for installation ${installationId}`);
  }
  if (options.writeBudgets !== undefined) {
    useWriteBudget(octokit, options.writeBudgets.of(installationId), options.log);
  }
  return createGitHubPort(octokit, {
    log: options.log,
    ...(options.caches === undefined ? {} : { cache: { installationId, caches: options.caches } }),
  });
}
