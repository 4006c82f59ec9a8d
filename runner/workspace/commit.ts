/**
 * What the agent left in a worktree, made into commits: everything uncommitted is committed with
 * kanbot's trailers on top of the agent's own commits (which are kept as they are), and the paths
 * the branch changes since its base are listed for the forbidden-path check.
 *
 * The agent can rewrite everything in the worktree and its git dir, so the runner's git here never
 * finds its repository through the worktree's `.git` file or the git dir's `commondir` file: the
 * git dir and the mirror are given explicitly ({@link WorktreeRepo}), and the check reads the
 * pushed commit's objects from the mirror with their hashes verified (verified-tree.ts).
 */
import { identityEnv, type GitIdentity } from "./git.js";
import { git, type GitContext } from "./mirror.js";
import { verifiedChangedPaths } from "./verified-tree.js";

/** Where a worktree's repository is, as the runner recorded it before the agent ran. */
export interface WorktreeRepo {
  worktreePath: string;
  /** The worktree's own git dir (`<mirror>/worktrees/<name>`). */
  gitDir: string;
  /** The bare mirror (the common dir: objects, refs, config). */
  mirrorPath: string;
}

/** `GIT_DIR`, `GIT_COMMON_DIR` and `GIT_WORK_TREE` of a worktree: no discovery from its files. */
export function worktreeEnv(repo: WorktreeRepo): Record<string, string> {
  return {
    GIT_DIR: repo.gitDir,
    GIT_COMMON_DIR: repo.mirrorPath,
    GIT_WORK_TREE: repo.worktreePath,
  };
}

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
  repo: WorktreeRepo;
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
  const cwd = options.repo.worktreePath;
  const env = worktreeEnv(options.repo);
  await git(context, { cwd, env, args: ["add", "--all", "--", "."] });
  // Excluded files are unstaged after `add` rather than excluded from it: an exclude pathspec
  // naming a git-ignored file (the usual copied `.env`) makes `git add` exit 1 ("paths are
  // ignored"), which failed every job of a repository with `setup.copyFiles`.
  const excludes = (options.exclude ?? []).map((path) => `:(literal)${path}`);
  if (excludes.length > 0) {
    await git(context, { cwd, env, args: ["reset", "--quiet", "--", ...excludes] });
  }
  const staged = await git(context, {
    cwd,
    env,
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
    env: { ...env, ...identityEnv(options.identity) },
  });
  return headOf(context, options.repo);
}

/** The worktree's HEAD commit, as a full object name (resolved once; the push uses this SHA). */
export async function headOf(context: GitContext, repo: WorktreeRepo): Promise<string> {
  const result = await git(context, {
    cwd: repo.worktreePath,
    env: worktreeEnv(repo),
    args: ["rev-parse", "--verify", "HEAD^{commit}"],
  });
  return result.stdout.trim();
}

/**
 * Paths that differ between the merge base of `baseSha` and `head`, and `head`: what the branch
 * changes, whatever the base did since. Renames count as both paths. Computed in the mirror
 * (`gitDir`), with replace refs, grafts and the commit-graph ignored (gitEnv, HARDENING_FLAGS).
 */
export async function changedPathsSince(
  context: GitContext,
  gitDir: string,
  baseSha: string,
  head: string,
): Promise<string[]> {
  const mergeBase = await git(context, {
    cwd: gitDir,
    args: ["--git-dir", gitDir, "merge-base", baseSha, head],
    okExitCodes: [1],
  });
  // Unrelated histories (an agent that re-created the branch from scratch): compare with the base.
  const from = mergeBase.exitCode === 0 ? mergeBase.stdout.trim() : baseSha;
  const diff = await git(context, {
    cwd: gitDir,
    args: [
      "--git-dir",
      gitDir,
      "diff",
      "--name-only",
      "--no-renames",
      "--no-ext-diff",
      "-z",
      from,
      head,
      "--",
    ],
  });
  return diff.stdout.split("\0").filter((path) => path !== "");
}

export interface BranchChanges {
  /** What the branch changes since its merge base with the base ({@link changedPathsSince}). */
  changedPaths: string[];
  /**
   * The paths the forbidden-path check must look at: `changedPaths`, plus every path whose entry
   * in `head` is neither the one at `startSha` nor the one at `baseSha`, read with verified hashes.
   */
  checkedPaths: string[];
}

export interface BranchChangesOptions {
  /** The mirror. */
  gitDir: string;
  /** `origin/<base>` when the job started, as the runner resolved it before the agent ran. */
  baseSha: string;
  /** Where the job's worktree started (the base, or the remote task branch). */
  startSha: string;
  /** The exact commit that will be pushed. */
  head: string;
}

/**
 * What the branch at `head` changes, and what the forbidden-path check must look at.
 *
 * The merge-base diff alone depends on history the agent writes: a head that merges an old
 * ancestor of the base makes that ancestor the merge base, and a forbidden file restored to its old
 * version would not show. So the check also takes every path whose entry in the pushed tree is
 * neither the one the job started from nor the base's: that is decided by three trees the runner
 * names itself, read with every object's hash verified, and no history. A path the job left as it
 * found it (`startSha`), or as the base has it now (a rebase), is not counted there.
 */
export async function branchChanges(
  context: GitContext,
  options: BranchChangesOptions,
): Promise<BranchChanges> {
  const { gitDir, baseSha, startSha, head } = options;
  const changedPaths = await changedPathsSince(context, gitDir, baseSha, head);
  const sinceBase = await verifiedChangedPaths(context, gitDir, baseSha, head);
  const sinceStart =
    startSha === baseSha
      ? null
      : new Set(await verifiedChangedPaths(context, gitDir, startSha, head));
  const fromNeither =
    sinceStart === null ? sinceBase : sinceBase.filter((path) => sinceStart.has(path));
  const checkedPaths = [...new Set([...changedPaths, ...fromNeither])].sort();
  return { changedPaths, checkedPaths };
}
