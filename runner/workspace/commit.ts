/**
 * What the agent left in a worktree, made into commits: everything uncommitted is committed with
 * kanbot's trailers on top of the agent's own commits (which are kept as they are), and the paths
 * the branch changes since its base are listed for the forbidden-path check.
 */
import { identityEnv, type GitIdentity } from "./git.js";
import { git, type GitContext } from "./mirror.js";

export interface Trailers {
  /** `Kanbot-Task` */
  taskId: string;
  /** `Kanbot-Job` */
  jobId: string;
  /** `Kanbot-WIP: true` on a work-in-progress commit. */
  wip?: boolean;
}

/** The trailer lines of a kanbot commit. */
export function trailerLines(trailers: Trailers): string[] {
  const lines = [`Kanbot-Task: ${trailers.taskId}`, `Kanbot-Job: ${trailers.jobId}`];
  if (trailers.wip === true) lines.push("Kanbot-WIP: true");
  return lines;
}

export interface CommitLeftoversOptions {
  worktreePath: string;
  /** The subject line, then an optional body. */
  message: string;
  trailers: Trailers;
  identity: GitIdentity;
  /** Paths never committed, such as files copied in from the runner (`.env`). */
  exclude?: readonly string[];
}

/**
 * Stages everything (new, changed and deleted files, except `exclude` and what .gitignore
 * ignores) and commits it. Returns the new commit, or `null` when there was nothing to commit.
 */
export async function commitLeftovers(
  context: GitContext,
  options: CommitLeftoversOptions,
): Promise<string | null> {
  const cwd = options.worktreePath;
  const excludes = (options.exclude ?? []).map((path) => `:(exclude,literal)${path}`);
  await git(context, { cwd, args: ["add", "--all", "--", ".", ...excludes] });
  const staged = await git(context, {
    cwd,
    args: ["diff", "--cached", "--quiet", "--no-ext-diff"],
    okExitCodes: [1],
  });
  if (staged.exitCode === 0) return null;
  const trailers = trailerLines(options.trailers).join("\n");
  await git(context, {
    cwd,
    args: [
      "commit",
      "--quiet",
      "--no-verify",
      "--no-edit",
      "-m",
      options.message.trim(),
      "-m",
      trailers,
    ],
    env: identityEnv(options.identity),
  });
  return (await git(context, { cwd, args: ["rev-parse", "HEAD"] })).stdout.trim();
}

/** The worktree's HEAD commit. */
export async function headOf(context: GitContext, worktreePath: string): Promise<string> {
  return (await git(context, { cwd: worktreePath, args: ["rev-parse", "HEAD"] })).stdout.trim();
}

/**
 * Paths that differ between the merge base of `baseSha` and `head`, and `head`: what the branch
 * changes, whatever the base did since. Renames count as both paths.
 */
export async function changedPathsSince(
  context: GitContext,
  worktreePath: string,
  baseSha: string,
  head: string,
): Promise<string[]> {
  const mergeBase = await git(context, {
    cwd: worktreePath,
    args: ["merge-base", baseSha, head],
    okExitCodes: [1],
  });
  // Unrelated histories (an agent that re-created the branch from scratch): compare with the base.
  const from = mergeBase.exitCode === 0 ? mergeBase.stdout.trim() : baseSha;
  const diff = await git(context, {
    cwd: worktreePath,
    args: ["diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", from, head, "--"],
  });
  return diff.stdout.split("\0").filter((path) => path !== "");
}
