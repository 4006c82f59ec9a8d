/**
 * The bare mirror of one repository and the git operations on it. A mirror is a bare repository
 * whose `origin` is the repository's URL without credentials; remote branches are fetched to
 * `refs/remotes/origin/*`, so the local `refs/heads/*` belong to the runner's worktrees and a
 * fetch never touches a branch a worktree has checked out.
 *
 * The mirror's config is rewritten before every fetch and push: worktrees share it, so an agent
 * running `git config` in its worktree writes there, and the runner's network commands must not
 * follow what it wrote (a remote URL, an `insteadOf`, an `include.path`). What else an agent can
 * plant in the mirror to change what git shows (replace refs, grafts, a shallow file, alternates)
 * is removed by {@link sanitizeMirror} before each fetch and before a job's finish.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

import type { Logger } from "pino";

import { WorkspaceError } from "./errors.js";
import { gitAuthEnv, retryOnLock, runGit, type GitResult, type LockRetryPolicy } from "./git.js";

/** What every git call of the workspace layer needs. */
export interface GitContext {
  /** The base environment ({@link gitEnv}). */
  env: Readonly<Record<string, string>>;
  lockRetry: LockRetryPolicy;
  /** Time limit of fetch and push. */
  networkTimeoutMs: number;
  log: Logger;
}

export interface GitCall {
  cwd: string;
  args: readonly string[];
  /** Added to the context's environment. */
  env?: Readonly<Record<string, string>>;
  secrets?: readonly string[];
  okExitCodes?: readonly number[];
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Written to git's standard input. */
  input?: string;
}

/** Runs git with the context's environment, retrying while another process holds a lock. */
export function git(context: GitContext, call: GitCall): Promise<GitResult> {
  return retryOnLock(
    () =>
      runGit({
        args: call.args,
        cwd: call.cwd,
        env: { ...context.env, ...call.env },
        secrets: call.secrets,
        okExitCodes: call.okExitCodes,
        signal: call.signal,
        timeoutMs: call.timeoutMs,
        input: call.input,
      }),
    context.lockRetry,
  );
}

/** The refspec of a mirror: remote branches to `refs/remotes/origin/*`. */
export const MIRROR_FETCH_REFSPEC = "+refs/heads/*:refs/remotes/origin/*";

/** The mirror's config file: the same every time, whatever was written to it in between. */
export function mirrorConfigText(url: string): string {
  return [
    "[core]",
    "\trepositoryformatversion = 0",
    "\tfilemode = true",
    "\tbare = true",
    '[remote "origin"]',
    `\turl = ${quoteConfigValue(url)}`,
    `\tfetch = ${MIRROR_FETCH_REFSPEC}`,
    "",
  ].join("\n");
}

/** Creates the mirror when it is missing and (re)writes its config. Returns whether it was created. */
export async function ensureMirror(
  context: GitContext,
  mirrorPath: string,
  url: string,
): Promise<boolean> {
  const created = !(await isFile(join(mirrorPath, "HEAD")));
  if (created) {
    await mkdir(dirname(mirrorPath), { recursive: true });
    await git(context, {
      cwd: dirname(mirrorPath),
      args: ["init", "--bare", "--quiet", mirrorPath],
    });
  }
  await resetMirrorConfig(mirrorPath, url);
  return created;
}

/** Rewrites the mirror's config atomically (write, then rename). */
export async function resetMirrorConfig(mirrorPath: string, url: string): Promise<void> {
  const target = join(mirrorPath, "config");
  const temporary = join(mirrorPath, `config.kanbot-${process.pid}.tmp`);
  await writeFile(temporary, mirrorConfigText(url), { mode: 0o644 });
  await rename(temporary, target);
}

export interface NetworkCall {
  url: string;
  /** The job's installation token; `undefined` for a remote without authentication (tests, public file remotes). */
  token: string | undefined;
  signal?: AbortSignal;
  /**
   * Awaited right before a git command that carries `token` starts; throws to refuse it. The job
   * runner asserts here that no process of the job is alive, so nothing the agent left can read
   * the token from that command's environment (see docs/security.md, section git).
   */
  beforeTokenGit?: () => void | Promise<void>;
}

/** What {@link sanitizeMirror} removed. */
export interface SanitizeResult {
  /** `refs/replace/*` refs deleted. */
  replaceRefs: string[];
  /** Files deleted (grafts, shallow, alternates), as paths. */
  files: string[];
}

/**
 * Files git reads to change what history or objects look like, which the runner never writes:
 * grafts (read even with replace objects off), `shallow` (a mirror is always fetched in full),
 * alternates (objects from another repository).
 */
const PLANTED_FILES = [
  "info/grafts",
  "shallow",
  "objects/info/alternates",
  "objects/info/http-alternates",
];

/**
 * Removes what an agent can plant in a mirror to make git show other objects or history than
 * those that are pushed: every `refs/replace/*` ref, `info/grafts`, `shallow` and alternates, in
 * the mirror and in the worktree git dirs given (`<mirror>/worktrees/<name>`); and rewrites the
 * config. The runner's own git ignores replace refs and grafts anyway (gitEnv); removing them
 * keeps a later job, and a person running git in the mirror, from being fooled. Throws
 * {@link WorkspaceError} when a replace ref cannot be removed.
 */
export async function sanitizeMirror(
  context: GitContext,
  mirrorPath: string,
  url: string,
  worktreeGitDirs: readonly string[] = [],
): Promise<SanitizeResult> {
  await resetMirrorConfig(mirrorPath, url);
  const replaceRefs = await listReplaceRefs(context, mirrorPath);
  if (replaceRefs.length > 0) {
    await git(context, {
      cwd: mirrorPath,
      args: ["--git-dir", mirrorPath, "update-ref", "--no-deref", "--stdin"],
      input: replaceRefs.map((ref) => `delete ${ref}\n`).join(""),
    });
  }
  await rm(join(mirrorPath, "refs", "replace"), { recursive: true, force: true });
  const left = await listReplaceRefs(context, mirrorPath);
  if (left.length > 0) {
    throw new WorkspaceError(
      `replace refs in ${mirrorPath} could not be removed (${left.slice(0, 5).join(", ")}); delete the mirror folder so the next job fetches it afresh`,
    );
  }
  const files: string[] = [];
  for (const gitDir of [mirrorPath, ...worktreeGitDirs]) {
    for (const name of PLANTED_FILES) {
      const path = join(gitDir, name);
      if ((await stat(path).catch(() => undefined)) === undefined) continue;
      await rm(path, { recursive: true, force: true });
      files.push(path);
    }
  }
  if (replaceRefs.length > 0 || files.length > 0) {
    context.log.warn(
      { mirror: mirrorPath, replaceRefs: replaceRefs.length, files },
      "removed replace refs, grafts or alternates planted in the mirror",
    );
  }
  return { replaceRefs, files };
}

async function listReplaceRefs(context: GitContext, mirrorPath: string): Promise<string[]> {
  const result = await git(context, {
    cwd: mirrorPath,
    args: ["--git-dir", mirrorPath, "for-each-ref", "--format=%(refname)", "refs/replace/"],
  });
  return result.stdout.split("\n").filter((line) => line !== "");
}

/** `git fetch --prune origin` in the mirror, authenticated through the environment. */
export async function fetchMirror(
  context: GitContext,
  mirrorPath: string,
  call: NetworkCall,
): Promise<void> {
  await sanitizeMirror(context, mirrorPath, call.url);
  await call.beforeTokenGit?.();
  await git(context, {
    cwd: mirrorPath,
    args: ["--git-dir", mirrorPath, "fetch", "--prune", "--no-tags", "--quiet", "origin"],
    env: authEnv(call),
    secrets: secretsOf(call),
    signal: call.signal,
    timeoutMs: context.networkTimeoutMs,
  });
}

export interface PushCall extends NetworkCall {
  sha: string;
  branch: string;
  /** The remote branch's value this push may replace; `null`: the branch must not exist yet. */
  expected: string | null;
}

/** Pushes `sha` to `refs/heads/<branch>` on origin with a lease on the expected value. */
export async function pushFromMirror(
  context: GitContext,
  mirrorPath: string,
  call: PushCall,
): Promise<void> {
  await resetMirrorConfig(mirrorPath, call.url);
  const ref = `refs/heads/${call.branch}`;
  await call.beforeTokenGit?.();
  await git(context, {
    cwd: mirrorPath,
    args: [
      "--git-dir",
      mirrorPath,
      "push",
      "--porcelain",
      "--no-verify",
      `--force-with-lease=${ref}:${call.expected ?? ""}`,
      "origin",
      `${call.sha}:${ref}`,
    ],
    env: authEnv(call),
    secrets: secretsOf(call),
    signal: call.signal,
    timeoutMs: context.networkTimeoutMs,
  });
  // The mirror now knows the remote branch's new value, as a fetch would have recorded it.
  await git(context, {
    cwd: mirrorPath,
    args: ["--git-dir", mirrorPath, "update-ref", `refs/remotes/origin/${call.branch}`, call.sha],
  });
}

/** The remote's default branch (what its HEAD points to), asked with `git ls-remote --symref`. */
export async function remoteDefaultBranch(
  context: GitContext,
  mirrorPath: string,
  call: NetworkCall,
): Promise<string | null> {
  await resetMirrorConfig(mirrorPath, call.url);
  await call.beforeTokenGit?.();
  const result = await git(context, {
    cwd: mirrorPath,
    args: ["--git-dir", mirrorPath, "ls-remote", "--symref", "origin", "HEAD"],
    env: authEnv(call),
    secrets: secretsOf(call),
    signal: call.signal,
    timeoutMs: context.networkTimeoutMs,
  });
  const match = result.stdout.match(/^ref: refs\/heads\/(\S+)\tHEAD$/m);
  return match?.[1] ?? null;
}

/** The commit a ref points to, or `null` when it does not exist. */
export async function resolveRef(
  context: GitContext,
  gitDir: string,
  ref: string,
): Promise<string | null> {
  const result = await git(context, {
    cwd: gitDir,
    args: ["--git-dir", gitDir, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`],
    okExitCodes: [1, 128],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** `refs/heads/…`, or `null` when detached or bare. */
  branch: string | null;
  bare: boolean;
  locked: boolean;
  prunable: boolean;
}

/** Parses `git worktree list --porcelain` output. */
export function parseWorktreeList(text: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split("\n").filter((line) => line !== "");
    const first = lines[0];
    if (first === undefined || !first.startsWith("worktree ")) continue;
    const entry: WorktreeEntry = {
      path: first.slice("worktree ".length),
      head: null,
      branch: null,
      bare: false,
      locked: false,
      prunable: false,
    };
    for (const line of lines.slice(1)) {
      if (line.startsWith("HEAD ")) entry.head = line.slice(5);
      else if (line.startsWith("branch ")) entry.branch = line.slice(7);
      else if (line === "bare") entry.bare = true;
      else if (line === "locked" || line.startsWith("locked ")) entry.locked = true;
      else if (line === "prunable" || line.startsWith("prunable ")) entry.prunable = true;
    }
    entries.push(entry);
  }
  return entries;
}

/** The mirror's worktrees (the bare repository itself left out). */
export async function listWorktrees(
  context: GitContext,
  mirrorPath: string,
): Promise<WorktreeEntry[]> {
  const result = await git(context, {
    cwd: mirrorPath,
    args: ["--git-dir", mirrorPath, "worktree", "list", "--porcelain"],
  });
  return parseWorktreeList(result.stdout).filter((entry) => !entry.bare);
}

/**
 * A linked worktree's own git dir (`<mirror>/worktrees/<name>`), from its `.git` file. Read right
 * after `git worktree add`, before any agent ran: later the file is the agent's to rewrite.
 */
export async function worktreeGitDirOf(worktreePath: string): Promise<string | undefined> {
  const text = await readFile(join(worktreePath, ".git"), "utf8").catch(() => undefined);
  return text?.match(/^gitdir:\s*(.+?)\s*$/m)?.[1];
}

/**
 * A linked worktree's own git dir as the mirror records it (`<mirror>/worktrees/<name>` whose
 * `gitdir` file names `<worktreePath>/.git`), never from the worktree's `.git` file, which an
 * agent may have rewritten to point at a repository of its own.
 */
export async function worktreeAdminDir(
  mirrorPath: string,
  worktreePath: string,
): Promise<string | undefined> {
  const root = join(mirrorPath, "worktrees");
  const wanted = resolve(worktreePath, ".git");
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const gitdir = await readFile(join(root, name, "gitdir"), "utf8").catch(() => undefined);
    if (gitdir !== undefined && resolve(gitdir.trim()) === wanted) return join(root, name);
  }
  return undefined;
}

/**
 * The mirror a worktree belongs to, from its `.git` file (`gitdir: <mirror>/worktrees/<name>`),
 * or `undefined` when the folder is not a linked worktree.
 */
export async function mirrorOfWorktree(worktreePath: string): Promise<string | undefined> {
  const text = await readFile(join(worktreePath, ".git"), "utf8").catch(() => undefined);
  const match = text?.match(/^gitdir:\s*(.+?)\s*$/m);
  if (match?.[1] === undefined) return undefined;
  return dirname(dirname(match[1]));
}

function authEnv(call: NetworkCall): Record<string, string> {
  if (call.token === undefined || !/^https?:\/\//i.test(call.url)) return {};
  return gitAuthEnv(call.token, call.url);
}

function secretsOf(call: NetworkCall): string[] {
  return call.token === undefined ? [] : [call.token];
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** A config value in double quotes, with `"` and `\` escaped (URLs hold neither in practice). */
function quoteConfigValue(value: string): string {
  if (/[\n\r]/.test(value)) throw new RangeError("a config value cannot span lines");
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
