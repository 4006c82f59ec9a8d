/**
 * The checks gate (DESIGN sections 1.6 and 7, issue 5 item 3): from every check run and commit
 * status on a pull request's head SHA, decide whether the required checks passed, failed or are
 * still pending. The handler turns `passed` into `checks-passed`, `failed` into `checks-failed`
 * (with a fix bundle) and, on `pending`, shows on the progress comment what the gate waits for
 * (`gateWaitingText`, src/domain/gate-progress.ts). docs/checks-gate.md has the rules with
 * examples.
 *
 * Choices where the issue is silent:
 * - A check run and a commit status with the same name are both kept; the name passes only when
 *   each of them passes (the stricter reading, as branch protection would see either).
 * - Branch protection or a ruleset that is readable but requires no checks counts as "no list":
 *   the config's list applies, else every check seen.
 * - The "no checks by the start deadline" rule applies only when every check seen is required
 *   (no list): a named required check that never appears keeps the gate pending, since a
 *   workflow waiting for a maintainer's approval looks exactly like that. After the deadline,
 *   `whenNone: wait` (the default, issue 14 part 6) holds the gate with no further recheck: a
 *   check that starts later arrives as a check event, and `/kanbot ready` passes it;
 *   `whenNone: pass` passes it, saying so.
 * - `/kanbot ready` (`readyBy`) passes only a head on which no check counted, before or after the
 *   deadline; it never waives a check that ran, failed or is named as required.
 * - A required check named like kanbot's own check run is left out of the required set
 *   (kanbot's run reports the job, which already succeeded, and must never gate itself).
 * - `stale`, `cancelled`, `timed_out`, `action_required` and `startup_failure` fail, as they do
 *   in branch protection.
 *
 * Why one long file: one pure decision in numbered steps (gather, match required checks, the
 * verdict, the no-checks wait), read top to bottom against docs/checks-gate.md; split, the steps'
 * shared types and order would scatter. Unit-tested step by step.
 */

/** A check run's `status`. */
export type CheckRunStatus =
  "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";

/** A completed check run's `conclusion` (null while it has not completed). */
export type CheckRunConclusion =
  | "success"
  | "failure"
  | "neutral"
  | "cancelled"
  | "skipped"
  | "timed_out"
  | "action_required"
  | "stale"
  | "startup_failure";

/** A commit status's `state`. */
export type CommitStatusState = "success" | "failure" | "error" | "pending";

/** One check run on a commit, as the gate needs it. */
export interface CheckRunInput {
  id: number;
  name: string;
  headSha: string;
  status: CheckRunStatus;
  conclusion: CheckRunConclusion | null;
  startedAt: Date | null;
  completedAt: Date | null;
  /** The GitHub App that created the run (GitHub Actions is `github-actions`, id 15368). */
  app: { id: number; slug: string } | null;
  /** `html_url` (or `details_url`). */
  url?: string | null | undefined;
  /** `output.title`, else the first line of `output.summary`. */
  summary?: string | null | undefined;
}

/** One commit status on a commit. */
export interface CommitStatusInput {
  /** The status's id, used only to order statuses with equal times. */
  id?: number | undefined;
  context: string;
  sha: string;
  state: CommitStatusState;
  createdAt: Date;
  updatedAt: Date;
  /** The app that set the status, when known; only then can it satisfy an app-bound check. */
  appId?: number | null | undefined;
  targetUrl?: string | null | undefined;
  description?: string | null | undefined;
}

/** One required check from branch protection (`checks[]`) or a ruleset
 * (`required_status_checks[]`): a name and, optionally, the app that must report it. */
export interface RequiredCheck {
  name: string;
  /** `app_id` / `integration_id`; null or absent: any source. */
  appId?: number | null | undefined;
}

/** Where the required set came from. */
export type RequiredSource = "branch-protection" | "config" | "all-checks";

export interface GateInput {
  /** The PR's head SHA; entries on any other SHA are ignored. */
  headSha: string;
  checkRuns: readonly CheckRunInput[];
  statuses: readonly CommitStatusInput[];
  /** Required checks from branch protection and rulesets on the base branch (merged); null
   * when they could not be read (no permission, none set). */
  protection: readonly RequiredCheck[] | null;
  /** `checks.required` from `.github/kanbot.yml`, if set. */
  configured?: readonly string[] | undefined;
  /** kanbot's own check run: by app id when known, else by name (default `kanbot`). */
  self: { appId: number | null; checkName?: string | undefined };
  /** `checks.startDeadlineMinutes`: how long to wait for any check to appear. */
  startDeadlineMinutes: number;
  /** `checks.whenNone`: with no check by the deadline, hold the gate (`wait`) or pass (`pass`). */
  whenNone: "wait" | "pass";
  /** Who said `/kanbot ready` on this head, if anyone: a head with no check passes at once. */
  readyBy?: string | null | undefined;
  /** When the PR was opened. */
  prCreatedAt: Date;
  /** When its head was pushed (the job's report, or a person's push), if known. The no-checks
   * wait runs from the later of the two. */
  headPushedAt?: Date | null | undefined;
  now: Date;
}

export type GateVerdict = "pending" | "passed" | "failed";

/** One check that counted: a check run or a commit status. */
export interface GateCheck {
  name: string;
  source: "check-run" | "status";
  /** The check run's conclusion, or the status's state; null while a check run runs. */
  conclusion: CheckRunConclusion | CommitStatusState | null;
  /** The check run's status (`completed` for a finished run; `pending` for a pending status). */
  status: CheckRunStatus;
  url: string | null;
  summary: string | null;
  /** The check run's id (for its output and annotations), the status's id if given. */
  id: number | null;
  /** The app that reported it, when known (`github-actions` has the failed job's log). */
  appSlug: string | null;
}

export type IgnoredReason =
  /** Reported on another commit than the PR head. */
  | "stale-sha"
  /** kanbot's own check run. */
  | "kanbot"
  /** An earlier run of the same name (a re-run replaced it). */
  | "superseded"
  /** Not in the required set. */
  | "not-required"
  /** The required check is bound to another app. */
  | "other-app";

export interface IgnoredCheck {
  name: string;
  source: "check-run" | "status";
  id: number | null;
  reason: IgnoredReason;
}

export interface GateDecision {
  verdict: GateVerdict;
  /** One sentence for the progress comment and logs. */
  reason: string;
  requiredFrom: RequiredSource;
  passed: GateCheck[];
  failed: GateCheck[];
  pending: GateCheck[];
  /** Required names with no check run or status on the head yet. */
  missing: string[];
  ignored: IgnoredCheck[];
  /** True when the gate passed with no check (the wait ended with `whenNone: pass`, or
   * `/kanbot ready`). */
  noChecks: boolean;
  /** True when the gate holds because no check ran by the deadline (`whenNone: wait`): pending,
   * with no recheck, until a check runs or a maintainer says `/kanbot ready`. */
  noneRan: boolean;
  /** When to decide again if nothing arrives (the end of the no-checks wait); else null. */
  recheckAt: Date | null;
}

export const DEFAULT_CHECK_NAME = "kanbot";

/** GitHub Actions' app id on github.com. */
export const GITHUB_ACTIONS_APP_ID = 15368;

type Outcome = "passed" | "failed" | "pending";

interface Entry {
  check: GateCheck;
  appId: number | null;
  time: number;
  order: number;
}

/** Decides the gate for one head SHA. Pure: `now` comes in with the input. */
export function decideGate(input: GateInput): GateDecision {
  const ignored: IgnoredCheck[] = [];
  const selfName = input.self.checkName ?? DEFAULT_CHECK_NAME;

  // 1. Only entries on the exact head count; kanbot's own run never does.
  const runs: Entry[] = [];
  for (const run of input.checkRuns) {
    const base = { name: run.name, source: "check-run" as const, id: run.id };
    if (run.headSha !== input.headSha) ignored.push({ ...base, reason: "stale-sha" });
    else if (isOwnRun(run, input.self.appId, selfName)) ignored.push({ ...base, reason: "kanbot" });
    else runs.push(runEntry(run));
  }
  const statuses: Entry[] = [];
  for (const [order, status] of input.statuses.entries()) {
    if (status.sha !== input.headSha) {
      ignored.push({
        name: status.context,
        source: "status",
        id: status.id ?? null,
        reason: "stale-sha",
      });
    } else statuses.push(statusEntry(status, order));
  }

  // 2. The required set.
  const { source: requiredFrom, checks: requiredList } = requiredChecks(input, selfName);

  // 3. The latest entry per (source, name, app binding) wins.
  const counted: Entry[] = [];
  const missing: string[] = [];
  const keys: { name: string; appId: number | null }[] =
    requiredList ?? uniqueNames([...runs, ...statuses]).map((name) => ({ name, appId: null }));
  const used = new Set<Entry>();
  for (const key of keys) {
    let found = false;
    for (const pool of [runs, statuses]) {
      const candidates = pool.filter((entry) => entry.check.name === key.name);
      const bound = candidates.filter((entry) => key.appId === null || entry.appId === key.appId);
      const latest = newest(bound);
      if (latest === undefined) continue;
      found = true;
      counted.push(latest);
      used.add(latest);
      for (const entry of bound) {
        if (entry !== latest) {
          used.add(entry);
          ignored.push(ignoredOf(entry, "superseded"));
        }
      }
    }
    if (!found) missing.push(key.name);
  }
  for (const entry of [...runs, ...statuses]) {
    if (used.has(entry)) continue;
    const requiredName = keys.some((key) => key.name === entry.check.name);
    ignored.push(ignoredOf(entry, requiredName ? "other-app" : "not-required"));
  }

  const passed = counted.filter((e) => outcomeOf(e.check) === "passed").map((e) => e.check);
  const failed = counted.filter((e) => outcomeOf(e.check) === "failed").map((e) => e.check);
  const pending = counted.filter((e) => outcomeOf(e.check) === "pending").map((e) => e.check);
  const base = {
    requiredFrom,
    passed: sortChecks(passed),
    failed: sortChecks(failed),
    pending: sortChecks(pending),
    missing: [...missing].sort(compareText),
    ignored: ignored.sort(
      (a, b) =>
        compareText(a.name, b.name) || compareText(a.source, b.source) || (a.id ?? 0) - (b.id ?? 0),
    ),
    noChecks: false,
    noneRan: false,
    recheckAt: null,
  };

  // 4. The verdict: a failure wins, then anything pending or missing, then the no-checks wait.
  if (failed.length > 0) {
    return {
      ...base,
      verdict: "failed",
      reason: `${plural(failed.length, "required check")} failed: ${list(failed.map(describe))}`,
    };
  }
  if (pending.length > 0 || missing.length > 0) {
    const waiting = [
      ...pending.map((check) => `${check.name} (${check.status.replace("_", " ")})`),
      ...missing.map((name) => `${name} (not reported yet)`),
    ];
    return {
      ...base,
      verdict: "pending",
      reason: `waiting for ${list(waiting)}${passed.length > 0 ? `; ${passed.length} passed` : ""}`,
    };
  }
  if (counted.length === 0) return decideNoChecks(input, base);
  return {
    ...base,
    verdict: "passed",
    reason: `${plural(passed.length, "required check")} passed${requiredFrom === "all-checks" ? "" : ` (required by ${requiredFrom === "config" ? "the config" : "branch protection"})`}`,
  };
}

type DecisionBase = Omit<GateDecision, "verdict" | "reason">;

/**
 * No check on the head (and none named as required): `/kanbot ready` passes it; before the start
 * deadline it is pending until the deadline; after it, `whenNone` holds it or passes it.
 */
function decideNoChecks(input: GateInput, base: DecisionBase): GateDecision {
  const minutes = plural(input.startDeadlineMinutes, "minute");
  if (input.readyBy != null && input.readyBy !== "") {
    return {
      ...base,
      verdict: "passed",
      noChecks: true,
      reason: `passed with no checks: @${input.readyBy} said /kanbot ready`,
    };
  }
  const waitMs = Math.max(0, input.startDeadlineMinutes) * 60_000;
  const since = Math.max(input.prCreatedAt.getTime(), input.headPushedAt?.getTime() ?? 0);
  const until = new Date(since + waitMs);
  if (input.now.getTime() < until.getTime()) {
    return {
      ...base,
      verdict: "pending",
      reason: `no checks on the head yet; waiting until ${until.toISOString()} (${minutes}) for checks to appear`,
      recheckAt: until,
    };
  }
  if (input.whenNone === "wait") {
    // No recheck: a check that starts later arrives as a check event, and so does the command.
    return {
      ...base,
      verdict: "pending",
      noneRan: true,
      reason: `no check ran on the head within ${minutes}; waiting for a check or /kanbot ready`,
    };
  }
  return {
    ...base,
    verdict: "passed",
    noChecks: true,
    reason: `passed with no checks: none appeared on the head within ${minutes}`,
  };
}

/** Whether a check passed, failed or is still running. Neutral and skipped pass. */
export function outcomeOf(check: GateCheck): Outcome {
  if (check.source === "status") {
    if (check.conclusion === "success") return "passed";
    if (check.conclusion === "pending" || check.conclusion === null) return "pending";
    return "failed";
  }
  if (check.status !== "completed" || check.conclusion === null) return "pending";
  const passing: readonly string[] = ["success", "neutral", "skipped"];
  return passing.includes(check.conclusion) ? "passed" : "failed";
}

function isOwnRun(run: CheckRunInput, appId: number | null, name: string): boolean {
  if (appId !== null) return run.app?.id === appId;
  return run.name === name;
}

function runEntry(run: CheckRunInput): Entry {
  const times = [run.completedAt, run.startedAt].filter((t): t is Date => t !== null);
  return {
    check: {
      name: run.name,
      source: "check-run",
      conclusion: run.status === "completed" ? run.conclusion : null,
      status: run.status,
      url: run.url ?? null,
      summary: run.summary ?? null,
      id: run.id,
      appSlug: run.app?.slug ?? null,
    },
    appId: run.app?.id ?? null,
    // A run with no time yet was just queued: it is the newest.
    time: times.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...times.map(timeOf)),
    order: run.id,
  };
}

function statusEntry(status: CommitStatusInput, index: number): Entry {
  return {
    check: {
      name: status.context,
      source: "status",
      conclusion: status.state,
      status: status.state === "pending" ? "pending" : "completed",
      url: status.targetUrl ?? null,
      summary: status.description ?? null,
      id: status.id ?? null,
      appSlug: null,
    },
    appId: status.appId ?? null,
    time: Math.max(timeOf(status.updatedAt), timeOf(status.createdAt)),
    // GitHub lists statuses newest first: an earlier index is newer.
    order: status.id ?? -index,
  };
}

function timeOf(date: Date): number {
  return date.getTime();
}

function newest(entries: readonly Entry[]): Entry | undefined {
  let best: Entry | undefined;
  for (const entry of entries) {
    if (best === undefined || entry.time > best.time) best = entry;
    else if (entry.time === best.time && entry.order > best.order) best = entry;
  }
  return best;
}

function requiredChecks(
  input: GateInput,
  selfName: string,
): { source: RequiredSource; checks: { name: string; appId: number | null }[] | null } {
  const notSelf = (name: string): boolean => name !== selfName;
  const protection = (input.protection ?? []).filter((check) => notSelf(check.name));
  if (protection.length > 0) {
    return { source: "branch-protection", checks: dedupe(protection) };
  }
  const configured = (input.configured ?? []).filter(notSelf);
  if (configured.length > 0) {
    return { source: "config", checks: dedupe(configured.map((name) => ({ name }))) };
  }
  return { source: "all-checks", checks: null };
}

function dedupe(checks: readonly RequiredCheck[]): { name: string; appId: number | null }[] {
  const seen = new Map<string, { name: string; appId: number | null }>();
  for (const check of checks) {
    const appId = check.appId ?? null;
    const key = `${check.name}\u0000${appId ?? ""}`;
    if (!seen.has(key)) seen.set(key, { name: check.name, appId });
  }
  return [...seen.values()];
}

function uniqueNames(entries: readonly Entry[]): string[] {
  return [...new Set(entries.map((entry) => entry.check.name))];
}

function ignoredOf(entry: Entry, reason: IgnoredReason): IgnoredCheck {
  return { name: entry.check.name, source: entry.check.source, id: entry.check.id, reason };
}

function sortChecks(checks: GateCheck[]): GateCheck[] {
  return checks.sort((a, b) => compareText(a.name, b.name) || compareText(a.source, b.source));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(check: GateCheck): string {
  return `${check.name} (${check.conclusion ?? check.status})`;
}

function list(items: readonly string[]): string {
  const shown = items.slice(0, 5);
  const more = items.length - shown.length;
  return `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
