/**
 * Why a failed agent run failed, by kind (issue 14, part 1), so that the app can treat each kind
 * as it deserves instead of retrying everything alike:
 *
 * - `auth`: the CLI is not logged in, its key is invalid, the model API answered 401/403. Only a
 *   person can fix it on the runner; retrying burns time.
 * - `quota`: a usage limit, a rate limit (429), credit too low. It passes by itself, at the reset
 *   time when the CLI prints one.
 * - `transient`: the model API was down or overloaded (5xx, 529), the network failed
 *   (ECONNRESET, ETIMEDOUT, "fetch failed"). Retrying later helps.
 * - `task`: everything else: the agent ran and failed, changed nothing, hit its turn limit.
 *
 * Each adapter gathers the facts its CLI gives (the CLI's own error messages, an HTTP status or an
 * error type in its structured output, a reset time) and asks `classifyFailure` with its own
 * patterns next to the generic ones. The patterns come from the CLIs' sources (each adapter file
 * names the version and where); test/fixtures/agent-errors/ holds one fixture per CLI and class.
 * The generic patterns are what the `command` adapter (any program) is classified with.
 *
 * Pure: the clock is passed in (`now`) for reset times given as a delay ("retry in 32s").
 */
import type { FailureClass } from "../../src/protocol/index.js";
import type { AgentExit } from "./types.js";

export type { FailureClass };

/** A classified failure: the class, the CLI's own message that decided it, the reset time. */
export interface AgentFailure {
  failureClass: FailureClass;
  /** The CLI's own words (one line, at most 500 characters); empty when it gave none. */
  message: string;
  /** When a quota resets, when the CLI said so. */
  resetAt?: Date;
}

/** What a parser learnt about a failed run. */
export interface FailureFacts {
  exit: AgentExit;
  /** The CLI's own error messages (result text, error events), in the order seen. */
  messages: readonly string[];
  /** An HTTP status the CLI reported in a structured field (Claude's `api_error_status`). */
  httpStatus?: number;
  /** Error type names from structured output (Gemini's `result.error.type`, OpenCode's `name`). */
  errorTypes?: readonly string[];
  /** A reset time the CLI reported in a structured field (Claude's `rate_limit_event`). */
  resetAt?: Date;
}

/** One CLI's patterns; each list is tried on every message and on the end of stderr. */
export interface FailurePatterns {
  auth: readonly RegExp[];
  quota: readonly RegExp[];
  transient: readonly RegExp[];
  /** Error type names (exact) per class. */
  types?: Partial<Record<Exclude<FailureClass, "task">, readonly string[]>>;
  /** Exit codes the CLI reserves for a class (Gemini CLI exits 41 on an auth error). */
  exitCodes?: Partial<Record<Exclude<FailureClass, "task">, readonly number[]>>;
}

/**
 * What any CLI or SDK prints for these failures: HTTP statuses in the usual wordings, the model
 * APIs' error types (Anthropic `authentication_error`, `rate_limit_error`, `overloaded_error`;
 * OpenAI `invalid_api_key`, `insufficient_quota`; Google `UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`)
 * and Node's and Rust's network errors.
 */
export const GENERIC_FAILURE_PATTERNS: FailurePatterns = {
  auth: [
    /\bnot logged in\b/i,
    /\binvalid (?:x-)?api[ _-]?key\b/i,
    /\bincorrect api key\b/i,
    /\bapi key not valid\b/i,
    /\bauthentication_error\b/,
    /\binvalid_api_key\b/,
    /\bUNAUTHENTICATED\b/,
    /\bPERMISSION_DENIED\b/,
    /\b401\b[^\n]{0,40}\bunauthori[sz]ed\b/i,
    /\bunauthori[sz]ed\b[^\n]{0,20}\b401\b/i,
    /\b(?:status|code|error)[: ]*\(?40[13]\b/i,
    /\b40[13] (?:Unauthorized|Forbidden)\b/,
    /\btoken (?:has )?(?:expired|been revoked)\b/i,
    /\bplease (?:run |re-run )?[`'"]?\/?(?:login|\w+ login)\b/i,
  ],
  quota: [
    /\busage limit\b/i,
    /\brate[ _-]?limit(?:ed|_error|_exceeded)?\b/i,
    /\btoo many requests\b/i,
    /\b(?:status|code|error|HTTP)[: ]*\(?429\b/i,
    /\b429 Too Many Requests\b/,
    /\binsufficient_quota\b/,
    /\bquota exceeded\b/i,
    /\bRESOURCE_EXHAUSTED\b/,
    /\bcredit balance is too low\b/i,
    /\bout of (?:usage )?credits\b/i,
  ],
  transient: [
    /\b(?:status|code|error|HTTP)[: ]*\(?5(?:0[0-4]|29)\b/i,
    /\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)\b/,
    /\boverloaded(?:_error)?\b/i,
    /\binternal server error\b/i,
    /\bbad gateway\b/i,
    /\bservice unavailable\b/i,
    /\bgateway time-?out\b/i,
    /\bE(?:CONNRESET|CONNREFUSED|TIMEDOUT|AI_AGAIN|NOTFOUND|PIPE|HOSTUNREACH|NETUNREACH)\b/,
    /\bfetch failed\b/i,
    /\bsocket hang up\b/i,
    /\bnetwork error\b/i,
    /\bstream disconnected\b/i,
    /\b(?:unable to|cannot|could not|couldn't|failed to) connect\b/i,
    /\bconnection (?:refused|reset|failed|error)\b/i,
    /\brequest timed out\b/i,
    /\bname does not resolve\b/i,
    /\bfailed to lookup address\b/i,
    /\bUNAVAILABLE\b/,
  ],
};

/** At most this much of a message is kept (it goes into the progress comment). */
const MAX_MESSAGE = 500;
/** Only the end of stderr is read (the CLI's last word). */
const STDERR_LINES = 20;

/**
 * Classifies a failed run. A run stopped by kanbot (time or silence limit, cancel) is `task`: it
 * ran. Otherwise the structured facts decide first (an exit code the CLI reserves, an error type,
 * an HTTP status), then the CLI's own patterns, then the generic ones, each in the order auth,
 * quota, transient (so a CLI's own "temporarily limiting requests (not your usage limit)" can say
 * transient before the generic "usage limit" says quota); nothing matched: `task`.
 */
export function classifyFailure(
  facts: FailureFacts,
  own: FailurePatterns = GENERIC_FAILURE_PATTERNS,
  now: Date = new Date(),
): AgentFailure {
  const texts = [
    ...facts.messages.filter((text) => text.trim() !== ""),
    ...tail(facts.exit.stderrTail),
  ];
  const first = texts[0] ?? "";
  if (facts.exit.reason !== "exit") return failure("task", first);
  const found =
    structured(facts, own) ?? matching(texts, own) ?? matching(texts, GENERIC_FAILURE_PATTERNS);
  if (found === undefined) return failure("task", first);
  const message = found.text ?? first;
  if (found.failureClass !== "quota") return failure(found.failureClass, message);
  const resetAt = facts.resetAt ?? texts.map((text) => resetTimeIn(text, now)).find(Boolean);
  return failure("quota", message, resetAt);
}

type Found = { failureClass: Exclude<FailureClass, "task">; text?: string };

const ORDER = ["auth", "quota", "transient"] as const;

function structured(facts: FailureFacts, own: FailurePatterns): Found | undefined {
  for (const failureClass of ORDER) {
    const byExit = (own.exitCodes?.[failureClass] ?? []).includes(facts.exit.exitCode ?? NaN);
    const byType = (facts.errorTypes ?? []).some((type) =>
      (own.types?.[failureClass] ?? []).includes(type),
    );
    const byStatus =
      facts.httpStatus !== undefined && statusClass(facts.httpStatus) === failureClass;
    if (byExit || byType || byStatus) return { failureClass };
  }
  return undefined;
}

function matching(texts: readonly string[], patterns: FailurePatterns): Found | undefined {
  for (const failureClass of ORDER) {
    const text = texts.find((candidate) =>
      patterns[failureClass].some((pattern) => pattern.test(candidate)),
    );
    if (text !== undefined) return { failureClass, text };
  }
  return undefined;
}

/** The class an HTTP status from the model API means, if any. */
export function statusClass(status: number): Exclude<FailureClass, "task"> | undefined {
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "quota";
  if (status >= 500 && status <= 599) return "transient";
  return undefined;
}

/**
 * A reset time in a CLI's words, absolute or relative to `now`:
 * - Gemini CLI: "Please retry in 32.5s", "Suggested retry after 60s.", "retry in 250ms";
 * - OpenCode: "It will reset in 2 hours 5 minutes";
 * - Codex: "try again at 3:15 PM" (today or tomorrow, the runner's local time) or
 *   "try again at Dec 8th, 2026 3:15 PM";
 * - an ISO 8601 time after "reset"/"retry" ("resets at 2026-12-08T15:00:00Z").
 * Undefined when there is none (the app then waits a backoff).
 */
export function resetTimeIn(text: string, now: Date): Date | undefined {
  const delay =
    /\b(?:retry|try again|reset)s?\b[^\n.]{0,20}?\b(?:in|after)\s+((?:\d+(?:\.\d+)?\s*(?:ms|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)\b[\s,and]*)+)/i.exec(
      text,
    );
  if (delay?.[1] !== undefined) {
    const ms = durationMs(delay[1]);
    if (ms !== undefined) return new Date(now.getTime() + ms);
  }
  const iso =
    /\b(?:retry|try again|reset)s?\b[^\n]{0,20}?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))/i.exec(
      text,
    );
  if (iso?.[1] !== undefined) {
    const at = new Date(iso[1]);
    if (!Number.isNaN(at.getTime())) return at;
  }
  return codexTryAgainAt(text, now);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function durationMs(text: string): number | undefined {
  let total = 0;
  let seen = false;
  for (const match of text.matchAll(
    /(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)\b/gi,
  )) {
    const unit = (match[2] ?? "").toLowerCase();
    const key = unit === "ms" ? "ms" : unit[0];
    const factor = key === undefined ? undefined : UNIT_MS[key];
    if (factor === undefined) continue;
    total += Number(match[1]) * factor;
    seen = true;
  }
  return seen && Number.isFinite(total) ? Math.round(total) : undefined;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Codex's "try again at …" (codex-rs/core/src/error.rs, `format_retry_timestamp`: "%-I:%M %p"
 * on the same day, else "%b %-d{suffix}, %Y %-I:%M %p", in the local time of the machine it runs
 * on, which is the runner's).
 */
function codexTryAgainAt(text: string, now: Date): Date | undefined {
  const match =
    /\btry again at\s+(?:([A-Z][a-z]{2})\s+(\d{1,2})(?:st|nd|rd|th)?,\s*(\d{4})\s+)?(\d{1,2}):(\d{2})\s*([AP]M)\b/i.exec(
      text,
    );
  if (match === null) return undefined;
  let hours = Number(match[4]) % 12;
  if ((match[6] ?? "").toUpperCase() === "PM") hours += 12;
  const minutes = Number(match[5]);
  if (match[1] !== undefined) {
    const month = MONTHS.indexOf(match[1].toLowerCase());
    if (month === -1) return undefined;
    return new Date(Number(match[3]), month, Number(match[2]), hours, minutes);
  }
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hours, minutes);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at;
}

function failure(failureClass: FailureClass, message: string, resetAt?: Date): AgentFailure {
  return {
    failureClass,
    message: oneLine(message),
    ...(resetAt !== undefined && !Number.isNaN(resetAt.getTime()) ? { resetAt } : {}),
  };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

function tail(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-STDERR_LINES);
}
