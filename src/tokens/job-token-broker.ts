/**
 * Job tokens (DESIGN sections 4, 7, 8): a runner gets, per job, an installation token limited to
 * the job's one repository with `contents: write`. The app keeps the live tokens in memory only
 * (never logged, never stored) so it can revoke them when the lease ends: completion, cancel, or
 * the expiry sweep. After an app restart the map is empty and the old tokens simply expire
 * within the hour.
 */
import type { Logger } from "pino";

/** A token handed to a runner for one job. */
export interface IssuedJobToken {
  token: string;
  expiresAt: Date;
  /** The permissions GitHub granted (`{ contents: "write", metadata: "read" }`). */
  permissions: Record<string, string>;
}

export interface JobTokenBroker {
  /** Mints a token for `repo` (`owner/name`) in `installationId`, remembered under `jobId`. */
  issue(jobId: number, installationId: number, repo: string): Promise<IssuedJobToken>;
  /** Revokes every live token of the job; returns how many it revoked. Never throws. */
  revoke(jobId: number): Promise<number>;
  /** `text` with every live token of the job replaced by `[redacted]` (defence in depth for logs). */
  redact(jobId: number, text: string): string;
  /** The job's live tokens, for the redaction policy (src/domain/redaction.ts) at every sink. */
  liveTokens?(jobId: number): readonly string[];
}

/** GitHub refused or failed to mint a job token. */
export class JobTokenError extends Error {
  override readonly name = "JobTokenError";
  constructor(
    readonly repo: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The part of Probot's app-authenticated Octokit (`await app.auth()`, no installation id) the
 * broker uses: `request` with a route, and its base URL. Structural, so this file imports no
 * Octokit (only src/github/ does).
 */
export interface AppOctokit {
  request: {
    (
      route: string,
      parameters?: Record<string, unknown>,
    ): Promise<{ status: number; data: unknown }>;
    endpoint: { DEFAULTS: { baseUrl: string } };
  };
}

export interface GitHubJobTokenBrokerOptions {
  /** The app-authenticated Octokit, e.g. `() => app.auth()`. */
  appOctokit: () => Promise<AppOctokit>;
  log: Logger;
  /** `fetch` for the revoke call (which authenticates with the job token itself). */
  fetch?: typeof globalThis.fetch;
  now?: () => Date;
}

interface LiveToken {
  token: string;
  expiresAt: Date;
}

const REVOKE_HEADERS = {
  accept: "application/vnd.github+json",
  "x-github-api-version": "2022-11-28",
  "user-agent": "kanbot",
};

/**
 * The real broker: `POST /app/installations/{id}/access_tokens` with `repositories: [name]` and
 * `permissions: { contents: "write" }` as the app, and `DELETE /installation/token`
 * authenticated with the token itself to revoke.
 */
export function createGitHubJobTokenBroker(options: GitHubJobTokenBrokerOptions): JobTokenBroker {
  const live = new Map<number, LiveToken[]>();
  const log = options.log;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? (() => new Date());
  let baseUrl: string | undefined;

  async function issue(
    jobId: number,
    installationId: number,
    repo: string,
  ): Promise<IssuedJobToken> {
    const name = repo.split("/")[1] ?? repo;
    const octokit = await options.appOctokit();
    baseUrl = octokit.request.endpoint.DEFAULTS.baseUrl;
    let data: unknown;
    try {
      ({ data } = await octokit.request("POST /app/installations/{installation_id}/access_tokens", {
        installation_id: installationId,
        repositories: [name],
        permissions: { contents: "write" },
      }));
    } catch (error) {
      const status = statusOf(error);
      log.warn({ jobId, repo, installationId, status }, "GitHub refused a job token");
      throw new JobTokenError(
        repo,
        status,
        `GitHub refused an installation token for ${repo} (installation ${installationId}, HTTP ${status ?? "error"}); ` +
          "check that the app is installed on the repository with contents: write",
        { cause: error },
      );
    }
    const minted = readToken(data);
    if (minted === undefined) {
      throw new JobTokenError(repo, undefined, `GitHub's token answer for ${repo} had no token`);
    }
    const tokens = (live.get(jobId) ?? []).filter((entry) => entry.expiresAt > now());
    tokens.push({ token: minted.token, expiresAt: minted.expiresAt });
    live.set(jobId, tokens);
    log.info({ jobId, repo, expiresAt: minted.expiresAt }, "job token issued");
    return minted;
  }

  async function revoke(jobId: number): Promise<number> {
    const tokens = live.get(jobId);
    live.delete(jobId);
    if (tokens === undefined || baseUrl === undefined) return 0;
    let revoked = 0;
    for (const entry of tokens) {
      if (entry.expiresAt <= now()) continue;
      try {
        const response = await doFetch(`${baseUrl}/installation/token`, {
          method: "DELETE",
          headers: { ...REVOKE_HEADERS, authorization: `token ${entry.token}` },
        });
        // 401: GitHub no longer knows the token (already revoked or expired): nothing to do.
        if (response.status === 204 || response.status === 401) revoked++;
        else log.warn({ jobId, status: response.status }, "GitHub did not revoke a job token");
      } catch (error) {
        log.warn({ jobId, err: errorFacts(error) }, "revoking a job token failed");
      }
    }
    log.info({ jobId, revoked }, "job tokens revoked");
    return revoked;
  }

  function redact(jobId: number, text: string): string {
    let result = text;
    for (const entry of live.get(jobId) ?? [])
      result = result.split(entry.token).join("[redacted]");
    return result;
  }

  function liveTokens(jobId: number): readonly string[] {
    return (live.get(jobId) ?? []).map((entry) => entry.token);
  }

  return { issue, revoke, redact, liveTokens };
}

function readToken(data: unknown): IssuedJobToken | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const {
    token,
    expires_at: expiresAt,
    permissions,
  } = data as {
    token?: unknown;
    expires_at?: unknown;
    permissions?: unknown;
  };
  if (typeof token !== "string" || typeof expiresAt !== "string") return undefined;
  const granted: Record<string, string> = {};
  if (typeof permissions === "object" && permissions !== null) {
    for (const [key, value] of Object.entries(permissions)) {
      if (typeof value === "string") granted[key] = value;
    }
  }
  return { token, expiresAt: new Date(expiresAt), permissions: granted };
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  return typeof error.status === "number" ? error.status : undefined;
}

/** An error's name and message only: a request error's `request` would hold headers. */
function errorFacts(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}
