/**
 * GitHub's write budget, per installation (issue 15, part 2). It replaces Probot's throttle, which
 * put every write and every GraphQL query of an installation through one queue at one a second.
 *
 * GitHub's published secondary limits (docs: "About secondary rate limits"): no more than 80
 * content-generating requests a minute and 500 an hour per installation; GitHub does not say
 * which requests generate content, so every REST POST/PATCH/PUT/DELETE and every GraphQL request
 * holding a mutation counts here. The budget keeps headroom under both (64 a minute, 420 an
 * hour) and sliding windows like GitHub's. The job token broker revokes each job's tokens with
 * the token itself (`DELETE /installation/token`, 2 a task), which GitHub counts against the same
 * installation: it takes a slot here first (src/tokens/job-token-broker.ts), and the headroom
 * covers the tokens another replica issued.
 *
 * - **Priorities.** `urgent` writes (open the PR, mark it ready, request review, the check run,
 *   questions and refusals on the issue, token revocation) go first, and only they may use the
 *   last tenth of each window; `view` writes (state labels, the card's column, progress comment
 *   edits) wait behind them. Within a priority, first come first served.
 * - **Reads never wait** for the budget: REST GETs and GraphQL queries go straight out.
 * - **GitHub's answer wins.** A 403/429 that says a limit was hit (a `retry-after`, an
 *   `x-ratelimit-remaining: 0` with its reset, or the secondary-limit message) pauses every write
 *   of that installation until then; the refused request was not done by GitHub, so it is sent
 *   again after the pause: nothing is lost. A pause longer than `maxWaitMs` is not waited out in
 *   the request: it fails with {@link WritesPausedError}, and the event's delivery is retried by
 *   the inbox later (the task's outbox keeps the effects that were not done).
 * - **Scope: one process.** Each app process keeps its own budgets. Several replicas on Postgres
 *   each have the whole budget, so N replicas could send up to N times it; GitHub's own answer
 *   (above) still pauses each of them. Keeping the budget in the database is left to do
 *   (docs/github.md, "The write budget").
 */
import type { Octokit } from "@octokit/core";
import type { Logger } from "pino";

import { header } from "./errors.js";

/** Which writes go first. */
export type WritePriority = "urgent" | "view";

export interface WriteBudgetLimits {
  /** Writes a minute (GitHub: 80 content-generating requests). */
  perMinute: number;
  /** Writes an hour (GitHub: 500). */
  perHour: number;
  /** The share of each window that only urgent writes may use. */
  urgentShare: number;
  /** The longest a request waits for a pause or a free slot before it fails. */
  maxWaitMs: number;
}

export const DEFAULT_WRITE_BUDGET: WriteBudgetLimits = {
  perMinute: 64,
  perHour: 420,
  urgentShare: 0.1,
  maxWaitMs: 120_000,
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The writes of an installation are paused (GitHub said so) for longer than a request waits. */
export class WritesPausedError extends Error {
  readonly resumeAt: Date;

  constructor(installationId: number, resumeAt: Date) {
    super(
      `GitHub's rate limit paused writes for installation ${installationId} until ${resumeAt.toISOString()}`,
    );
    this.name = "WritesPausedError";
    this.resumeAt = resumeAt;
  }
}

/** What the budget shows (logs, `/metrics`). */
export interface WriteBudgetState {
  usedLastMinute: number;
  usedLastHour: number;
  /** Writes left in the tighter window, for urgent writes. */
  remaining: number;
  /** When the oldest write of the hour leaves the window (the hour's reset), or null. */
  resetAt: Date | null;
  pausedUntil: Date | null;
  waiting: number;
}

interface Waiter {
  priority: WritePriority;
  resolve: () => void;
}

/** One installation's budget. Times come from `Date.now()` and timers from `setTimeout`. */
export class InstallationWriteBudget {
  readonly installationId: number;
  readonly limits: WriteBudgetLimits;
  /** Times of the writes let through in the last hour, oldest first. */
  #writes: number[] = [];
  #pausedUntil = 0;
  #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(installationId: number, limits: WriteBudgetLimits = DEFAULT_WRITE_BUDGET) {
    this.installationId = installationId;
    this.limits = limits;
  }

  /**
   * Resolves when a write of `priority` may go out (and counts it), or rejects with
   * {@link WritesPausedError} when that would be more than `maxWaitMs` away.
   */
  acquire(priority: WritePriority): Promise<void> {
    const wait = this.#waitFor(priority, Date.now());
    if (wait > this.limits.maxWaitMs) {
      return Promise.reject(
        new WritesPausedError(this.installationId, new Date(Date.now() + wait)),
      );
    }
    return new Promise((resolve) => {
      this.#queue.push({ priority, resolve });
      this.#pump();
    });
  }

  /** GitHub refused a request: no write goes out before `Date.now() + ms`. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
    this.#pump();
  }

  /** Milliseconds until the pause ends (0 when not paused). */
  pausedForMs(): number {
    return Math.max(0, this.#pausedUntil - Date.now());
  }

  state(): WriteBudgetState {
    const now = Date.now();
    this.#prune(now);
    const minute = this.#countSince(now - MINUTE);
    const hour = this.#writes.length;
    const oldest = this.#writes[0];
    return {
      usedLastMinute: minute,
      usedLastHour: hour,
      remaining: Math.max(0, Math.min(this.limits.perMinute - minute, this.limits.perHour - hour)),
      resetAt: oldest === undefined ? null : new Date(oldest + HOUR),
      pausedUntil: this.#pausedUntil > now ? new Date(this.#pausedUntil) : null,
      waiting: this.#queue.length,
    };
  }

  /** Lets waiting writes go while the budget allows; otherwise sleeps until it may. */
  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (;;) {
      const index = this.#nextIndex();
      if (index === -1) return;
      const next = this.#queue[index] as Waiter;
      const now = Date.now();
      const wait = this.#waitFor(next.priority, now);
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        this.#timer.unref();
        return;
      }
      this.#queue.splice(index, 1);
      this.#writes.push(now);
      next.resolve();
    }
  }

  /** The first urgent waiter, else the first waiter. */
  #nextIndex(): number {
    const urgent = this.#queue.findIndex((waiter) => waiter.priority === "urgent");
    return urgent !== -1 ? urgent : this.#queue.length > 0 ? 0 : -1;
  }

  /** Milliseconds until a write of `priority` fits in both windows and no pause holds it. */
  #waitFor(priority: WritePriority, now: number): number {
    this.#prune(now);
    const share = priority === "urgent" ? 1 : 1 - this.limits.urgentShare;
    const perMinute = Math.max(1, Math.floor(this.limits.perMinute * share));
    const perHour = Math.max(1, Math.floor(this.limits.perHour * share));
    const inMinute = this.#writes.filter((at) => at > now - MINUTE);
    const waits = [this.#pausedUntil - now];
    // The window admits one more when enough of its oldest writes have slid out.
    if (inMinute.length >= perMinute) {
      waits.push((inMinute[inMinute.length - perMinute] as number) + MINUTE - now);
    }
    if (this.#writes.length >= perHour) {
      waits.push((this.#writes[this.#writes.length - perHour] as number) + HOUR - now);
    }
    return Math.max(0, ...waits);
  }

  #countSince(since: number): number {
    return this.#writes.filter((at) => at > since).length;
  }

  #prune(now: number): void {
    while (this.#writes.length > 0 && (this.#writes[0] as number) <= now - HOUR) {
      this.#writes.shift();
    }
  }
}

/** The budgets of every installation this process writes for. */
export class WriteBudgets {
  readonly #budgets = new Map<number, InstallationWriteBudget>();
  readonly #limits: WriteBudgetLimits;

  constructor(limits: WriteBudgetLimits = DEFAULT_WRITE_BUDGET) {
    this.#limits = limits;
  }

  of(installationId: number): InstallationWriteBudget {
    let budget = this.#budgets.get(installationId);
    if (budget === undefined) {
      budget = new InstallationWriteBudget(installationId, this.#limits);
      this.#budgets.set(installationId, budget);
    }
    return budget;
  }

  states(): { installationId: number; state: WriteBudgetState }[] {
    return [...this.#budgets.values()].map((budget) => ({
      installationId: budget.installationId,
      state: budget.state(),
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// Which requests are writes, and of what priority
// ---------------------------------------------------------------------------------------------

/** The parts of an Octokit request the budget looks at. */
export interface BudgetedRequestOptions {
  method?: string;
  url?: string;
  query?: unknown;
  [key: string]: unknown;
}

/** GraphQL mutations that only show a task's state on the issue (its view). */
const VIEW_MUTATIONS: ReadonlySet<string> = new Set([
  "updateProjectV2ItemFieldValue",
  "addLabelsToLabelable",
  "removeLabelsFromLabelable",
  "updateIssueComment",
]);

/**
 * The top-level fields of a GraphQL operation (aliases resolved): for a mutation, the mutations
 * it holds. Braces inside arguments (input objects) and strings are skipped.
 */
export function topLevelFields(query: string): { operation: string; fields: string[] } {
  const text = query.replace(/#[^\n]*/g, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const operation = /^\s*(query|mutation|subscription)\b/.exec(text)?.[1] ?? "query";
  const fields: string[] = [];
  let braces = 0;
  let parens = 0;
  for (const token of text.matchAll(/[A-Za-z_]\w*|[{}():]/g)) {
    const value = token[0];
    if (value === "(") parens++;
    else if (value === ")") parens--;
    else if (parens > 0) continue;
    else if (value === "{") braces++;
    else if (value === "}") braces--;
    else if (braces === 1) {
      // `alias: field`: the alias goes, the field stays.
      if (value === ":") fields.pop();
      else fields.push(value);
    }
  }
  return { operation, fields };
}
/** REST writes that only show a task's state on the issue: its labels and comment edits. */
function isViewRestWrite(method: string, url: string): boolean {
  if (/\/issues\/(\{[^}]+\}|\d+)\/labels(\/|$)/.test(url)) return method !== "GET";
  return method === "PATCH" && /\/issues\/comments\/(\{[^}]+\}|\d+)$/.test(url);
}

/** The write's priority, or undefined for a read (which never waits for the budget). */
export function writePriorityOf(options: BudgetedRequestOptions): WritePriority | undefined {
  const method = (options.method ?? "GET").toUpperCase();
  const url = options.url ?? "";
  if (/\/graphql$/.test(url)) {
    const query = typeof options.query === "string" ? options.query : "";
    const { operation, fields } = topLevelFields(query);
    if (operation !== "mutation") return undefined;
    // A view write only when every mutation in the request shows the view.
    const view = fields.length > 0 && fields.every((field) => VIEW_MUTATIONS.has(field));
    return view ? "view" : "urgent";
  }
  if (["GET", "HEAD", "OPTIONS"].includes(method)) return undefined;
  return isViewRestWrite(method, url) ? "view" : "urgent";
}

// ---------------------------------------------------------------------------------------------
// GitHub's limit answers
// ---------------------------------------------------------------------------------------------

interface ResponseLike {
  status?: number;
  headers?: Record<string, string | number | undefined>;
  data?: unknown;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

const SECONDARY_MESSAGE = /secondary rate limit/i;
/** When GitHub says a limit was hit but not until when (the docs: wait at least a minute). */
const DEFAULT_PAUSE_MS = MINUTE;

/** How long GitHub asks to wait, from a limit answer's headers. */
function pauseFromHeaders(
  headers: Record<string, string | number | undefined> | undefined,
  now: number,
): number | undefined {
  const retryAfter = Number(header(headers, "retry-after"));
  if (
    Number.isFinite(retryAfter) &&
    retryAfter >= 0 &&
    header(headers, "retry-after") !== undefined
  ) {
    return retryAfter * 1000;
  }
  if (header(headers, "x-ratelimit-remaining") === "0") {
    const reset = Number(header(headers, "x-ratelimit-reset"));
    if (Number.isFinite(reset)) return Math.max(1000, reset * 1000 - now);
  }
  return undefined;
}

/**
 * The pause a failed request asks for: a 403 or 429 that is a rate limit (GitHub's docs: a
 * `retry-after`, or `x-ratelimit-remaining: 0`, or the secondary-limit message); undefined for
 * any other failure (a 403 for a missing permission is not retried).
 */
export function limitPauseOf(error: unknown, now = Date.now()): number | undefined {
  const failure = error as ResponseLike;
  if (failure.status !== 403 && failure.status !== 429) return undefined;
  const headers = failure.response?.headers;
  const fromHeaders = pauseFromHeaders(headers, now);
  if (fromHeaders !== undefined) return fromHeaders;
  const text = `${failure.message ?? ""} ${JSON.stringify(failure.response?.data ?? "")}`;
  if (SECONDARY_MESSAGE.test(text) || failure.status === 429) return DEFAULT_PAUSE_MS;
  return undefined;
}

/** A GraphQL answer (HTTP 200 or 403) whose errors say a rate limit was hit; its pause. */
export function graphqlLimitPauseOf(response: ResponseLike, now = Date.now()): number | undefined {
  const data = response.data as { errors?: { type?: unknown; message?: unknown }[] } | undefined;
  const limited = (data?.errors ?? []).some(
    (error) =>
      error.type === "RATE_LIMITED" ||
      error.type === "RATE_LIMIT" ||
      (typeof error.message === "string" && SECONDARY_MESSAGE.test(error.message)),
  );
  if (!limited) return undefined;
  return pauseFromHeaders(response.headers, now) ?? DEFAULT_PAUSE_MS;
}

// ---------------------------------------------------------------------------------------------
// The Octokit hook
// ---------------------------------------------------------------------------------------------

/** How often one request is sent again after GitHub refused it for a limit. */
const MAX_LIMIT_RETRIES = 3;

/** An Octokit whose requests can be wrapped (`@octokit/core`'s `hook`). */
interface HookableOctokit {
  hook: Pick<Octokit["hook"], "wrap">;
}

const budgeted = new WeakSet<object>();

/**
 * Puts every request of `octokit` (an installation's) under `budget`: writes wait for it, and a
 * limit answer pauses the installation and the request is sent again after the pause.
 */
export function useWriteBudget(
  octokit: HookableOctokit,
  budget: InstallationWriteBudget,
  log?: Logger,
): void {
  if (budgeted.has(octokit)) return;
  budgeted.add(octokit);
  octokit.hook.wrap("request", async (sendRequest, endpoint) => {
    const options = endpoint as unknown as BudgetedRequestOptions;
    const request = (): Promise<ResponseLike> =>
      sendRequest(endpoint) as unknown as Promise<ResponseLike>;
    const priority = writePriorityOf(options);
    for (let attempt = 0; ; attempt++) {
      if (priority !== undefined) {
        await budget.acquire(priority);
      } else if (budget.pausedForMs() > 0) {
        // A primary limit also stops reads: wait the pause out, within the same bound.
        const wait = budget.pausedForMs();
        if (wait > budget.limits.maxWaitMs) {
          throw new WritesPausedError(budget.installationId, new Date(Date.now() + wait));
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      let pause: number | undefined;
      try {
        const response = await request();
        pause = /\/graphql$/.test(options.url ?? "") ? graphqlLimitPauseOf(response) : undefined;
        if (pause === undefined || attempt >= MAX_LIMIT_RETRIES) {
          return response as unknown as Awaited<ReturnType<typeof sendRequest>>;
        }
      } catch (error) {
        pause = limitPauseOf(error);
        if (pause === undefined || attempt >= MAX_LIMIT_RETRIES) throw error;
      }
      budget.pause(pause);
      log?.warn(
        {
          installationId: budget.installationId,
          request: `${options.method ?? "GET"} ${options.url ?? ""}`,
          pauseMs: pause,
          attempt: attempt + 1,
        },
        "GitHub answered with a rate limit: this installation's writes pause, and the request is sent again",
      );
    }
  });
}
