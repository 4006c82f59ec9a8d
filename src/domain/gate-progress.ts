/**
 * What the progress comment says while the checks gate is pending (docs/checks-gate.md, "What a
 * maintainer sees"): the required checks still running by name, how many passed, or the end of
 * the no-checks wait. Pure; the text is plain (the progress comment escapes it), and the service
 * edits the comment only when this text changes for the head, so it holds nothing that changes
 * without the checks changing (no "now", no durations).
 */
import type { GateDecision } from "./gate.js";
import { formatUtc } from "./progress-comment.js";

/** Names listed in full; beyond this, "and N more". */
const LISTED = 5;

/**
 * The waiting text for a pending decision, or null when the decision is not pending:
 *
 * - `waiting for build (in progress), test (queued), sec (not reported yet); 2 passed (lint, unit)`
 * - `no checks on the head yet; waiting until 2025-01-02T03:14:05Z`
 */
export function gateWaitingText(
  decision: Pick<GateDecision, "verdict" | "passed" | "pending" | "missing" | "recheckAt">,
): string | null {
  if (decision.verdict !== "pending") return null;
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

function listed(items: readonly string[]): string {
  const shown = items.slice(0, LISTED);
  const more = items.length - shown.length;
  return `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}
