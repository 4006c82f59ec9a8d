/**
 * Named errors of the workspace layer. Like renovate's `ExecError`, a {@link GitError} keeps what a
 * person needs: the git command (never a token: tokens travel in the environment, not in argv),
 * its exit code and the end of its stderr, with any secret redacted.
 */

/** What kind of git failure this is, so callers can handle the expected ones. */
export type GitFailureKind =
  /** The remote refused the credentials (401/403, or no credentials where some are needed). */
  | "auth"
  /** The remote refused the push (stale lease, not a fast-forward, protected branch). */
  | "rejected"
  /** Another git process holds a lock (`index.lock`, a ref lock, a worktree lock). */
  | "lock"
  /** The remote repository or a ref does not exist. */
  | "not-found"
  | "other";

export interface GitErrorFacts {
  /** `git <args>` joined with spaces, for messages. */
  cmd: string;
  exitCode: number | null;
  /** The last lines of stderr, redacted. */
  stderr: string;
  kind: GitFailureKind;
}

/** A git command that failed. */
export class GitError extends Error implements GitErrorFacts {
  override name = "GitError";
  readonly cmd: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly kind: GitFailureKind;

  constructor(facts: GitErrorFacts, options?: { cause?: unknown }) {
    super(describeGitFailure(facts), options);
    this.cmd = facts.cmd;
    this.exitCode = facts.exitCode;
    this.stderr = facts.stderr;
    this.kind = facts.kind;
  }
}

/** A workspace request that cannot be done as asked (bad job id, missing base branch, bad path). */
export class WorkspaceError extends Error {
  override name = "WorkspaceError";
}

/** The branch changes paths the repository forbids (default `.github/workflows/**`). */
export class ForbiddenPathsError extends Error {
  override name = "ForbiddenPathsError";
  /** The changed paths that match a forbidden pattern, sorted. */
  readonly paths: readonly string[];
  /** The patterns that matched. */
  readonly patterns: readonly string[];

  constructor(paths: readonly string[], patterns: readonly string[]) {
    const shown = paths.slice(0, 20).join(", ");
    const more = paths.length > 20 ? ` and ${paths.length - 20} more` : "";
    super(
      `the changes touch paths this repository does not let kanbot change (${patterns.join(", ")}): ${shown}${more}; nothing was pushed — undo those changes or change forbiddenPaths in .github/kanbot.yml`,
    );
    this.paths = paths;
    this.patterns = patterns;
  }
}

function describeGitFailure(facts: GitErrorFacts): string {
  const tail = lastLines(facts.stderr);
  const detail = tail === "" ? "" : `: ${tail}`;
  switch (facts.kind) {
    case "auth":
      return `"${facts.cmd}" was refused by the remote: the job's token is missing, expired or revoked${detail}`;
    case "rejected":
      return `"${facts.cmd}" was rejected by the remote (the branch moved since the job started, or it is protected)${detail}`;
    case "lock":
      return `"${facts.cmd}" could not take a git lock held by another process${detail}`;
    case "not-found":
      return `"${facts.cmd}" failed: the repository or ref does not exist${detail}`;
    case "other":
      return `"${facts.cmd}" exited with code ${facts.exitCode ?? "unknown"}${detail}`;
  }
}

function lastLines(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return lines.slice(-2).join(" / ");
}
