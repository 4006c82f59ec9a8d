/**
 * What the progress comment says while the checks gate is pending (docs/checks-gate.md, "What a
 * maintainer sees"): the required checks still running by name, how many passed, the end of the
 * no-checks wait, or, once no check ran by the start deadline (`whenNone: wait`), that the PR
 * stays a draft and how to make CI run on kanbot's branches. Pure; the text is plain (the
 * progress comment escapes it), and the service edits the comment only when this text changes
 * for the head, so it holds nothing that changes without the checks changing (no "now", no
 * durations).
 */
import type { GateDecision } from "./gate.js";
import { formatUtc } from "./progress-comment.js";

/** Names listed in full; beyond this, "and N more". */
const LISTED = 5;

/** What the text of a gate held for want of checks names: the repository's settings. */
export interface NoChecksHint {
  /** `branchPrefix`: kanbot's branches are `<prefix>…`. */
  branchPrefix: string;
  /** The PR's base branch (a `pull_request` workflow's `branches` filter matches it). */
  baseBranch: string;
  /** `checks.startDeadlineMinutes`. */
  startDeadlineMinutes: number;
}

/**
 * The waiting text for a pending decision, or null when the decision is not pending:
 *
 * - `waiting for build (in progress), test (queued), sec (not reported yet); 2 passed (lint, unit)`
 * - `no checks on the head yet; waiting until 2025-01-02T03:14:05Z`
 * - `no check ran on the head within 10 minutes, so the PR stays a draft. …` (`noChecksHeldText`)
 */
export function gateWaitingText(
  decision: Pick<
    GateDecision,
    "verdict" | "passed" | "pending" | "missing" | "recheckAt" | "noneRan"
  >,
  hint: NoChecksHint,
): string | null {
  if (decision.verdict !== "pending") return null;
  if (decision.noneRan) return noChecksHeldText(hint);
  const waiting = [
    ...decision.pending.map((check) => `${check.name} (${check.status.replace(/_/g, " ")})`),
    ...decision.missing.map((name) => `${name} (not reported yet)`),
  ];
  if (waiting.length === 0) {
    if (decision.recheckAt !== null) {
      return `no checks on the head yet; waiting until ${formatUtc(decision.recheckAt)}`;
    }
    // decideGate never pends with nothing to name; say something true if it ever does.
    return "waiting for the checks";
  }
  const passed = decision.passed.map((check) => check.name);
  const passedText =
    passed.length === 0
      ? ""
      : passed.length <= LISTED
        ? `; ${passed.length} passed (${passed.join(", ")})`
        : `; ${passed.length} passed`;
  return `waiting for ${listed(waiting)}${passedText}`;
}

/**
 * What the progress comment says once no check ran by the deadline: the PR stays a draft, how to
 * make CI run on kanbot's branches (a `pull_request` workflow's `branches` filter names the base
 * branch, a `push` workflow's names the pushed branch), and the command that passes it without
 * checks. Plain text: the progress comment escapes it.
 */
export function noChecksHeldText(hint: NoChecksHint): string {
  const minutes = hint.startDeadlineMinutes;
  const prefix = hint.branchPrefix;
  return (
    `no check ran on the head within ${minutes} minute${minutes === 1 ? "" : "s"}, ` +
    `so the PR stays a draft. To have CI check kanbot's branches (${prefix}…), ` +
    `run a workflow on pull_request (its branches filter, if any, must include the base ` +
    `branch, ${hint.baseBranch}) or on push with branches: ["${prefix}**"]; ` +
    `a check that runs on the PR's head then decides the gate. ` +
    `Or comment /kanbot ready to mark the PR ready for review without checks.`
  );
}

function listed(items: readonly string[]): string {
  const shown = items.slice(0, LISTED);
  const more = items.length - shown.length;
  return `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}
