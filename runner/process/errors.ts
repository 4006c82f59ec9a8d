/**
 * Named errors of the process layer. Like renovate's `ExecError`, they keep what a person needs
 * to understand the failure: the command, its exit code or signal, why it stopped and the tail of
 * its stderr (already redacted).
 */

/** Why a command stopped: it exited by itself, or the runner stopped it for one of three reasons. */
export type StopReason = "exit" | "timeout" | "silence" | "canceled";

export interface ExecErrorFacts {
  /** The command line, for messages (arguments joined with spaces; never run through a shell). */
  cmd: string;
  exitCode: number | null;
  signal: string | null;
  reason: StopReason;
  /** The last lines of stderr, redacted. */
  stderr: string;
  durationMs: number;
}

/** A command that ran and did not succeed (non-zero exit, killed, timed out, silent, canceled). */
export class ExecError extends Error implements ExecErrorFacts {
  override name = "ExecError";
  readonly cmd: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: StopReason;
  readonly stderr: string;
  readonly durationMs: number;

  constructor(facts: ExecErrorFacts, options?: { cause?: unknown }) {
    super(describeFailure(facts), options);
    this.cmd = facts.cmd;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.reason = facts.reason;
    this.stderr = facts.stderr;
    this.durationMs = facts.durationMs;
  }
}

/** A command that could not be started at all (not found, not executable, bad working dir). */
export class SpawnError extends ExecError {
  override name = "SpawnError";
  /** The system error code: `ENOENT`, `EACCES`… */
  readonly code: string | undefined;

  constructor(cmd: string, code: string | undefined, cause: unknown) {
    super(
      { cmd, exitCode: null, signal: null, reason: "exit", stderr: "", durationMs: 0 },
      { cause },
    );
    this.code = code;
    this.message =
      code === "ENOENT"
        ? `could not start "${cmd}": the program was not found (check the agent's command and the runner's PATH)`
        : `could not start "${cmd}": ${cause instanceof Error ? cause.message : String(cause)}`;
  }
}

/** One sentence: what happened to which command, and what to look at next. */
export function describeFailure(facts: ExecErrorFacts): string {
  const what = `"${facts.cmd}"`;
  const tail = facts.stderr.trim() === "" ? "" : `; stderr ends with: ${lastLine(facts.stderr)}`;
  switch (facts.reason) {
    case "timeout":
      return `${what} was stopped after reaching its time limit${tail}`;
    case "silence":
      return `${what} was stopped because it printed nothing for too long (silence limit)${tail}`;
    case "canceled":
      return `${what} was canceled${tail}`;
    case "exit":
      if (facts.signal !== null) return `${what} was killed by ${facts.signal}${tail}`;
      return `${what} exited with code ${facts.exitCode ?? "unknown"}${tail}`;
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}
