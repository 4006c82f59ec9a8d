/**
 * Job tokens (DESIGN sections 4, 7, 8): a runner gets, per job, an installation token limited to
 * the job's one repository with `contents: write`. The app keeps the tokens it issued (never
 * logged) until the lease ends, so it can revoke them then: completion, cancel, or the expiry
 * sweep. `kanbot start` keeps them in the job store, sealed with a key derived from the App's
 * private key (./token-keeper.ts, ./token-seal.ts): whichever replica sees the lease end revokes
 * them, even when another replica issued them, and an app restart forgets none. Without a store
 * they are kept in this process only.
 */
import type { Logger } from "pino";
import { memoryTokenKeeper, type JobTokenKeeper, type KeptJobToken } from "./token-keeper.js";

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
  /**
   * Revokes every kept token of the job on GitHub and forgets it; returns how many this call
   * revoked (a token another replica revoked first is not counted twice). A token GitHub did not
   * revoke (an outage) stays kept for the next try. Never throws.
   */
  revoke(jobId: number): Promise<number>;
  /**
   * Reads the job's live tokens from where they are kept (another replica may have issued them)
   * for `redact` and `liveTokens`; call it before redacting what a runner sent.
   */
  refresh?(jobId: number): Promise<void>;
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
  /**
   * Where issued tokens are kept until their lease ends: `storeTokenKeeper` (the job store,
   * sealed; any replica revokes) or, by default, this process's memory.
   */
  keeper?: JobTokenKeeper;
  /**
   * GitHub's write budget per installation (src/github/write-budget.ts): a revocation is a write
   * GitHub counts against the token's installation, though it is sent with the token itself, not
   * through the installation's Octokit. Revocations of tokens this process issued wait for it
   * (urgent); a token issued by another replica is revoked at once.
   */
  writeBudgets?: { of(installationId: number): { acquire(priority: "urgent"): Promise<void> } };
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
  const keeper = options.keeper ?? memoryTokenKeeper();
  // What `redact` and `liveTokens` see (they cannot wait for the store): the tokens this process
  // issued or last read for the job with `refresh`.
  const live = new Map<number, LiveToken[]>();
  /** The installation of each job this process issued tokens for (for the write budget). */
  const installationOf = new Map<number, number>();
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
    installationOf.set(jobId, installationId);
    const minted = readToken(data);
    if (minted === undefined) {
      throw new JobTokenError(repo, undefined, `GitHub's token answer for ${repo} had no token`);
    }
    try {
      await keeper.keep(jobId, minted.token, minted.expiresAt);
    } catch (error) {
      // A token nobody could revoke later is not handed out.
      log.error({ jobId, err: errorFacts(error) }, "keeping a job token failed; revoking it");
      await revokeOnGitHub(jobId, minted.token);
      throw error;
    }
    remember(jobId, [...(live.get(jobId) ?? []), minted]);
    log.info({ jobId, repo, expiresAt: minted.expiresAt }, "job token issued");
    return minted;
  }

  async function revoke(jobId: number): Promise<number> {
    live.delete(jobId);
    let kept: KeptJobToken[];
    try {
      kept = await keeper.list(jobId);
    } catch (error) {
      log.warn({ jobId, err: errorFacts(error) }, "reading a job's tokens to revoke them failed");
      return 0;
    }
    if (kept.length === 0) return 0;
    const done: number[] = [];
    const revokedIds = new Set<number>();
    for (const entry of kept) {
      if (entry.token === undefined) {
        // Sealed with another key (the App's private key changed): it expires by itself.
        log.warn(
          { jobId, expiresAt: entry.expiresAt },
          "a kept job token cannot be opened with this app's key; it expires by itself",
        );
        done.push(entry.id);
        continue;
      }
      if (entry.expiresAt <= now()) {
        done.push(entry.id);
        continue;
      }
      if (await revokeOnGitHub(jobId, entry.token)) {
        done.push(entry.id);
        revokedIds.add(entry.id);
      }
    }
    let dropped: number[];
    try {
      dropped = await keeper.drop(done);
    } catch (error) {
      log.warn({ jobId, err: errorFacts(error) }, "forgetting revoked job tokens failed");
      return 0;
    }
    const revoked = dropped.filter((id) => revokedIds.has(id)).length;
    if (done.length === kept.length) installationOf.delete(jobId);
    log.info({ jobId, revoked }, "job tokens revoked");
    return revoked;
  }

  /** True when GitHub revoked the token or no longer knows it. Never throws. */
  async function revokeOnGitHub(jobId: number, token: string): Promise<boolean> {
    const installationId = installationOf.get(jobId);
    if (installationId !== undefined && options.writeBudgets !== undefined) {
      // A budget paused for long does not hold a revocation back: it is tried at once.
      await options.writeBudgets
        .of(installationId)
        .acquire("urgent")
        .catch(() => undefined);
    }
    try {
      // A replica that never issued a token learns GitHub's URL from the app's Octokit.
      baseUrl ??= (await options.appOctokit()).request.endpoint.DEFAULTS.baseUrl;
      const response = await doFetch(`${baseUrl}/installation/token`, {
        method: "DELETE",
        headers: { ...REVOKE_HEADERS, authorization: `token ${token}` },
      });
      // 401: GitHub no longer knows the token (already revoked or expired): nothing to do.
      if (response.status === 204 || response.status === 401) return true;
      log.warn({ jobId, status: response.status }, "GitHub did not revoke a job token");
    } catch (error) {
      log.warn({ jobId, err: errorFacts(error) }, "revoking a job token failed");
    }
    return false;
  }

  async function refresh(jobId: number): Promise<void> {
    const kept = await keeper.list(jobId);
    const tokens: LiveToken[] = [];
    for (const entry of kept) {
      if (entry.token !== undefined)
        tokens.push({ token: entry.token, expiresAt: entry.expiresAt });
    }
    remember(jobId, tokens);
  }

  /** Sets the job's live tokens (the unexpired ones), and forgets jobs whose tokens all expired. */
  function remember(jobId: number, tokens: readonly LiveToken[]): void {
    const at = now();
    const unexpired = tokens.filter((entry) => entry.expiresAt > at);
    if (unexpired.length > 0) live.set(jobId, unexpired);
    else live.delete(jobId);
    for (const [id, entries] of live) {
      if (entries.every((entry) => entry.expiresAt <= at)) live.delete(id);
    }
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

  return { issue, revoke, refresh, redact, liveTokens };
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
