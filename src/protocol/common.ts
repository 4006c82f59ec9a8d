/**
 * Building blocks shared by the request and response schemas of the runner API.
 */
import { z } from "zod";

/** The versioned prefix of every runner API path. */
export const API_PREFIX = "/api/v1";

/** Paths of the runner API, relative to the app's base URL. */
export const API_PATHS = {
  register: `${API_PREFIX}/runners`,
  claim: `${API_PREFIX}/jobs/claim`,
  heartbeat: (jobId: number) => `${API_PREFIX}/jobs/${jobId}/heartbeat`,
  token: (jobId: number) => `${API_PREFIX}/jobs/${jobId}/token`,
  log: (jobId: number) => `${API_PREFIX}/jobs/${jobId}/log`,
  complete: (jobId: number) => `${API_PREFIX}/jobs/${jobId}/complete`,
  /** `GET`, no token: the app's version (`{ "version": "…" }`), for `kanbot-runner doctor`. */
  version: `${API_PREFIX}/version`,
} as const;

/**
 * Upper bounds of the numbers in the protocol. A number past its bound is answered 400 naming
 * the field, before it reaches the store (a Postgres `integer` column ends at 2^31 - 1) or the
 * task's budget (a `durationSeconds` of 1e308 once used up every budget at once).
 */
export const PROTOCOL_BOUNDS = {
  /** Ids the store numbers (`bigserial`): JavaScript's safe integers. */
  id: Number.MAX_SAFE_INTEGER,
  /** Counters kept in `integer` columns (issue numbers, attempts): Postgres's `integer`. */
  int32: 2_147_483_647,
  /** Log chunk sequence numbers: 100 million chunks per job. */
  logSeq: 100_000_000,
  /** Seconds one job or validation command can have taken: 31 days. */
  durationSeconds: 31 * 24 * 3600,
  /** US dollars one job's agent can have spent. */
  costUsd: 10_000,
  /** A process exit code, signed (Windows codes are 32-bit). */
  exitCodeMin: -2_147_483_648,
  exitCodeMax: 4_294_967_295,
} as const;

/** A job id as it appears in paths and bodies. */
export const JobId = z.number().int().positive().max(PROTOCOL_BOUNDS.id);
export type JobId = z.infer<typeof JobId>;

/** An instant, as ISO 8601 text in UTC (`2026-01-01T00:00:00.000Z`). */
export const Timestamp = z.iso.datetime({ offset: true });
export type Timestamp = z.infer<typeof Timestamp>;

/** An agent name: `claude`, `codex`, or a runner's own command agent. */
export const AgentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  error: "expected an agent name: letters, digits, '.', '_' or '-', at most 64 characters",
});
export type AgentName = z.infer<typeof AgentName>;

/** A runner label (`gpu`, `os:mac`), as a `runs-on:<label>` issue label requires it. */
export const RunnerLabel = z.string().regex(/^[^\s,]{1,100}$/, {
  error: "expected a runner label: 1 to 100 characters without spaces or commas",
});
export type RunnerLabel = z.infer<typeof RunnerLabel>;

/**
 * A repository owner as GitHub allows it (letters, digits, hyphens; at most 39). The same rule
 * as `OwnerLogin` in src/domain/repo-name.ts (a unit test keeps them equal).
 */
export const RepoOwner = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, {
  error: "expected a GitHub owner: letters, digits and hyphens, at most 39 characters",
});
export type RepoOwner = z.infer<typeof RepoOwner>;

/** A repository name as GitHub allows it (`RepoName` in src/domain/repo-name.ts). */
export const RepoShortName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, {
    error: "expected a repository name: letters, digits, '.', '_' or '-', at most 100 characters",
  })
  .refine((name) => name !== "." && name !== "..", {
    error: "expected a repository name other than '.' or '..'",
  });
export type RepoShortName = z.infer<typeof RepoShortName>;

/** A repository as GitHub's `full_name`: `owner/name`. */
export const RepoFullName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, {
    error: "expected a repository as owner/name",
  })
  .refine((fullName) => !/\/\.{1,2}$/.test(fullName), {
    error: "expected a repository name other than '.' or '..'",
  });
export type RepoFullName = z.infer<typeof RepoFullName>;

/** A lease token: the fencing token a claim returns (`kbl_…`). */
export const LeaseToken = z
  .string()
  .min(1, { error: "expected the lease token from the claim" })
  .max(200);
export type LeaseToken = z.infer<typeof LeaseToken>;

/** A git commit SHA (SHA-1 or SHA-256), lower-case hex. */
export const CommitSha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, {
  error: "expected a 40- or 64-character hex commit SHA",
});
export type CommitSha = z.infer<typeof CommitSha>;

/** Machine-readable error codes of the runner API. */
export const API_ERROR_CODES = [
  "bad-request",
  "unsupported-media-type",
  "payload-too-large",
  "unauthorized",
  "registration-token-invalid",
  "forbidden",
  "not-found",
  "method-not-allowed",
  "stale-lease",
  "already-finished",
  "github-error",
  "unavailable",
  "internal",
] as const;
export const ApiErrorCode = z.enum(API_ERROR_CODES);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** One problem with a request body: the field's path (`outcome.headSha`, `chunks[2].seq`). */
export const ApiFieldIssue = z.object({
  /** Dotted path of the field; empty for the body as a whole. */
  path: z.string(),
  message: z.string(),
});
export type ApiFieldIssue = z.infer<typeof ApiFieldIssue>;

/** The body of every 4xx/5xx answer. */
export const ApiErrorBody = z.object({
  error: z.object({
    code: ApiErrorCode,
    /** What happened, to what, and what to do next. */
    message: z.string(),
    /** For `bad-request`: one entry per invalid field. */
    issues: z.array(ApiFieldIssue).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/** Turns zod issues into field paths a person can read: `chunks[2].seq`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

/** The issues of a failed parse, one per field. */
export function fieldIssues(error: z.ZodError): ApiFieldIssue[] {
  return error.issues.map((issue) => ({
    path: formatIssuePath(issue.path),
    message: issue.message,
  }));
}
