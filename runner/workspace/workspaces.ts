/**
 * Workspaces of the runner: one bare mirror per repository and one git worktree per job, on disk
 * under the runner's work directory (docs/workspaces.md):
 *
 *   <workDir>/mirrors/<owner>/<repo>.git   bare mirror, fetched per job
 *   <workDir>/worktrees/<job-id>/          the job's worktree, on branch <prefix><issue>-<slug>
 *   <workDir>/jobs/<job-id>.json           what the runner knows about that worktree
 *
 * A job's life: prepare (fetch, add the worktree, copy files, run setup) -> the agent -> finish
 * (commit leftovers with trailers, check forbidden paths, push with a lease) or pushWorkInProgress
 * -> release (remove, or keep a failed one for a while). sweepOrphans at runner start removes
 * what no active job owns.
 *
 * Operations on one worktree are serialised by an in-process mutex keyed by its path, and those
 * that write to a mirror by one keyed by the mirror's path (always taken in that order); git's
 * own lock files serialise with other processes, and a lock error is retried.
 *
 * Why one long file: every step of a job's life takes the same two in-process locks (the
 * worktree's, then the mirror's, always in that order) and the same retry on git's lock files;
 * they live in one `createWorkspaces` closure so no caller can take them out of order. The parts
 * that need no lock are already their own files (commit.ts, copy-files.ts, branch-name.ts).
 */
import { readdir, readFile, rename, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";

import { pino, type Logger } from "pino";

import { buildChildEnv } from "../process/env.js";
import { ExecError } from "../process/errors.js";
import type { OutputStream } from "../process/output.js";
import { checkSuccess, runCommand } from "../process/run-command.js";
import type { CommandSandbox } from "../sandbox/types.js";
import { isValidBranchName } from "./branch-name.js";
import { branchChanges, commitLeftovers, headOf, type WorktreeRepo } from "./commit.js";
import { copyIgnoredFiles, checkRepoRelativePath } from "./copy-files.js";
import { ForbiddenPathsError, GitError, WorkspaceError } from "./errors.js";
import {
  DEFAULT_IDENTITY,
  DEFAULT_LOCK_RETRY,
  gitEnv,
  sleep,
  type GitEnvOptions,
  type GitIdentity,
  type LockRetryPolicy,
} from "./git.js";
import { QUESTION_FILE } from "../../src/domain/question.js";
import { pathsMatching } from "./glob.js";
import { KeyedMutex } from "./keyed-mutex.js";
import {
  ensureMirror,
  fetchMirror,
  git,
  listWorktrees,
  mirrorOfWorktree,
  pushFromMirror,
  remoteDefaultBranch,
  resolveRef,
  sanitizeMirror,
  worktreeAdminDir,
  worktreeGitDirOf,
  type GitContext,
} from "./mirror.js";

/** The repository of a job. */
export interface RepoRef {
  owner: string;
  name: string;
  /**
   * Its clone URL, without credentials (refused when it has any). Default
   * `<gitBaseUrl>/<owner>/<name>.git`.
   */
  cloneUrl?: string;
}

export interface WorkspacesOptions {
  /** The runner's work directory (`workDir` in kanbot-runner.yml). */
  workDir: string;
  /** Where clone URLs start when a job gives none. Default `https://github.com`. */
  gitBaseUrl?: string;
  /** Who kanbot's commits are by. Default `kanbot[bot]`. */
  identity?: GitIdentity;
  /** How long a failed job's worktree is kept for inspection. Default 24 hours; 0 removes it at once. */
  keepFailedMs?: number;
  /** The git environment (source of PATH/HOME/proxies, global config file). */
  gitEnv?: GitEnvOptions;
  /** Time limit of one fetch or push. Default 10 minutes. */
  networkTimeoutMs?: number;
  /** Retries when another git process holds a lock. */
  lockRetry?: Partial<LockRetryPolicy>;
  /** The clock, for the time a failed worktree was kept. Default `Date.now`. */
  now?: () => number;
  log?: Logger;
}

/**
 * Where a job's branch starts: a new branch from the base, or the task branch on the remote. The
 * app decides it per job (`continuesTaskBranch` in src/api/describe-job.ts); the job runner
 * passes its answer on.
 */
export type StartFrom = "base" | "branch";

export interface SetupOptions {
  /** Commands as argv arrays, run in order in the worktree (shell: false); one failing fails the job. */
  commands?: readonly (readonly string[])[];
  /** Git-ignored files to copy in (e.g. `.env`), relative to `copyFrom`. */
  copyFiles?: readonly string[];
  /** The folder `copyFiles` come from (the runner config names it per repository). */
  copyFrom?: string;
  /** The commands' complete environment. Default: the runner's allowlist (`buildChildEnv`). */
  env?: Readonly<Record<string, string>>;
  /** Time limit of each command. Default 30 minutes. */
  timeoutMs?: number;
  /** Redacted output of the commands, for the job log. */
  onLog?: (text: string, stream: OutputStream) => void;
  /** Values to redact from that output. */
  secrets?: readonly string[];
  signal?: AbortSignal;
  /** The job's sandbox (runner/sandbox/): the commands run inside it. Default: none. */
  sandbox?: CommandSandbox;
}

export interface PrepareOptions {
  jobId: string;
  taskId: string;
  repo: RepoRef;
  /** The job's installation token: used for the fetch only, never written anywhere. */
  token: string | undefined;
  /** The task branch (see `taskBranchName`). */
  branch: string;
  /** The base branch (`base` in .github/kanbot.yml); `null`: the remote's default branch. */
  baseBranch: string | null;
  startFrom: StartFrom;
  /**
   * When this job's worktree already exists (a runner restarted mid-job): reuse it as it is, or
   * (default) remove it and start clean.
   */
  reuseExisting?: boolean;
  setup?: SetupOptions;
  signal?: AbortSignal;
  /**
   * Awaited right before each git command that carries `token` (fetch, ls-remote); throw to
   * refuse. The job runner asserts that no process of the job is alive (docs/security.md, git).
   */
  beforeTokenGit?: () => void | Promise<void>;
}

/** A job's worktree. `remoteBranchSha` changes when this job pushes. */
export interface Workspace {
  jobId: string;
  taskId: string;
  owner: string;
  repo: string;
  /** Clone URL, no credentials. */
  url: string;
  mirrorPath: string;
  /** The worktree. */
  path: string;
  /**
   * The worktree's own git dir (`<mirror>/worktrees/<name>`), read when it was added, before any
   * agent ran; the runner's git uses it instead of the worktree's `.git` file.
   */
  gitDir?: string;
  branch: string;
  baseBranch: string;
  /** `origin/<base>` when the job started. */
  baseSha: string;
  /** The commit the worktree started at (the base, or the task branch's head). */
  startSha: string;
  /** The remote task branch's head as far as this job knows; `null` while it does not exist. */
  remoteBranchSha: string | null;
  /** Files copied in from the runner: never committed, and changing them fails the job. */
  copiedFiles: string[];
  createdAt: number;
  /** When the job failed and its worktree was kept. */
  failedAt?: number;
}

export interface SetupResult {
  copied: string[];
  missing: string[];
  commands: number;
}

export interface FinishOptions {
  /** The job's installation token, for the push only. */
  token: string | undefined;
  /** Subject (and body) of the commit of leftovers. Default `Work on <branch>`. */
  message?: string;
  /** Patterns of paths the branch may not change. Default `.github/workflows/**`. */
  forbiddenPaths?: readonly string[];
  /** Asked right before pushing: whether this runner still holds the job's lease. */
  canPush: () => Promise<boolean>;
  /** Awaited right before the push, which carries `token`; throw to refuse (see PrepareOptions). */
  beforeTokenGit?: () => void | Promise<void>;
}

export type FinishResult =
  | {
      status: "pushed";
      headSha: string;
      /** Whether leftovers were committed by kanbot. */
      committed: boolean;
      changedPaths: string[];
    }
  | { status: "no-changes"; headSha: string; committed: false; changedPaths: string[] }
  | {
      status: "not-pushed";
      reason: "lease-lost";
      headSha: string;
      committed: boolean;
      changedPaths: string[];
    };

export interface SweepOptions {
  activeJobIds: Iterable<string>;
  now: number;
  /** Default: the manager's `keepFailedMs`. */
  keepFailedMs?: number;
}

export interface SweepResult {
  removed: string[];
  kept: string[];
}

export type JobOutcome = "succeeded" | "failed";

export interface Workspaces {
  readonly workDir: string;
  mirrorPath(owner: string, repo: string): string;
  worktreePath(jobId: string): string;
  /** Fetches the mirror (creating it the first time), adds the job's worktree, runs setup. */
  prepare(options: PrepareOptions): Promise<Workspace>;
  /** Copies configured files and runs setup commands in a worktree. */
  setup(workspace: Workspace, options: SetupOptions): Promise<SetupResult>;
  /** Commits leftovers with trailers, checks forbidden paths, pushes with a lease. */
  finish(workspace: Workspace, options: FinishOptions): Promise<FinishResult>;
  /** Like finish for a budget, timeout or cancel stop: a `Kanbot-WIP: true` commit, pushed. */
  pushWorkInProgress(workspace: Workspace, options: FinishOptions): Promise<FinishResult>;
  /** Removes the worktree after success; keeps it after failure for `keepFailedMs`. */
  release(workspace: Workspace | string, outcome: JobOutcome): Promise<void>;
  /** Removes a job's worktree, its branch in the mirror and its record; a missing one is fine. */
  remove(jobId: string): Promise<void>;
  /** Removes worktrees no active job owns (and expired kept ones), then prunes every mirror. */
  sweepOrphans(options: SweepOptions): Promise<SweepResult>;
  /** The records of every worktree on disk (for recovery after a crash). */
  list(): Promise<Workspace[]>;
}

const DEFAULT_KEEP_FAILED_MS = 24 * 60 * 60 * 1000;
const DEFAULT_NETWORK_TIMEOUT_MS = 10 * 60 * 1000;
const DEFAULT_SETUP_TIMEOUT_MS = 30 * 60 * 1000;
const DEFAULT_FORBIDDEN_PATHS = [".github/workflows/**"];
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Creates the workspace manager of one runner. */
export function createWorkspaces(options: WorkspacesOptions): Workspaces {
  const workDir = resolve(options.workDir);
  const mirrorsDir = join(workDir, "mirrors");
  const worktreesDir = join(workDir, "worktrees");
  const jobsDir = join(workDir, "jobs");
  const identity = options.identity ?? DEFAULT_IDENTITY;
  const keepFailedMs = options.keepFailedMs ?? DEFAULT_KEEP_FAILED_MS;
  const now = options.now ?? Date.now;
  const gitBaseUrl = (options.gitBaseUrl ?? "https://github.com").replace(/\/+$/, "");
  const log = options.log ?? pino({ level: "silent" });
  const context: GitContext = {
    env: gitEnv(options.gitEnv),
    lockRetry: {
      ...DEFAULT_LOCK_RETRY,
      sleep,
      ...options.lockRetry,
      onRetry: async (error, attempt) => {
        log.debug({ cmd: error.cmd, attempt }, "git lock busy, retrying");
        await options.lockRetry?.onRetry?.(error, attempt);
      },
    },
    networkTimeoutMs: options.networkTimeoutMs ?? DEFAULT_NETWORK_TIMEOUT_MS,
    log,
  };
  const mutex = new KeyedMutex();

  function mirrorPath(owner: string, repo: string): string {
    checkName(owner, "repository owner");
    checkName(repo, "repository name");
    return join(mirrorsDir, owner, `${repo}.git`);
  }

  function worktreePath(jobId: string): string {
    checkJobId(jobId);
    return join(worktreesDir, jobId);
  }

  function recordPath(jobId: string): string {
    return join(jobsDir, `${jobId}.json`);
  }

  async function writeRecord(workspace: Workspace): Promise<void> {
    await mkdir(jobsDir, { recursive: true });
    const target = recordPath(workspace.jobId);
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(workspace, null, 2)}\n`);
    await rename(temporary, target);
  }

  async function readRecord(jobId: string): Promise<Workspace | undefined> {
    const text = await readFile(recordPath(jobId), "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Workspace;
    } catch {
      return undefined;
    }
  }

  async function prepare(prepareOptions: PrepareOptions): Promise<Workspace> {
    const { jobId, branch } = prepareOptions;
    const path = worktreePath(jobId);
    const mirror = mirrorPath(prepareOptions.repo.owner, prepareOptions.repo.name);
    const url = cloneUrlOf(prepareOptions.repo, gitBaseUrl);
    if (!isValidBranchName(branch)) {
      throw new WorkspaceError(
        `"${branch}" is not a valid branch name; check branchPrefix in .github/kanbot.yml`,
      );
    }
    if (prepareOptions.baseBranch !== null && !isValidBranchName(prepareOptions.baseBranch)) {
      throw new WorkspaceError(
        `"${prepareOptions.baseBranch}" is not a valid base branch name; check base in .github/kanbot.yml`,
      );
    }
    const jobLog = log.child({ jobId });

    const workspace = await mutex.run(path, async () => {
      if (prepareOptions.reuseExisting === true) {
        const existing = await reusable(jobId, path, branch);
        if (existing !== undefined) {
          jobLog.info({ path }, "reusing existing worktree");
          return { workspace: existing, reused: true };
        }
      }
      const created = await mutex.run(mirror, async () => {
        // 1. mirror: create the first time, fetch every time
        if (await ensureMirror(context, mirror, url)) jobLog.info({ mirror }, "mirror created");
        const network = {
          url,
          token: prepareOptions.token,
          signal: prepareOptions.signal,
          beforeTokenGit: prepareOptions.beforeTokenGit,
        };
        await fetchMirror(context, mirror, network);

        // 2. where the branch starts
        const baseBranch =
          prepareOptions.baseBranch ?? (await remoteDefaultBranch(context, mirror, network));
        if (baseBranch === null) {
          throw new WorkspaceError(
            `${prepareOptions.repo.owner}/${prepareOptions.repo.name} has no default branch (an empty repository?); push a first commit or set base in .github/kanbot.yml`,
          );
        }
        const baseSha = await resolveRef(context, mirror, `refs/remotes/origin/${baseBranch}`);
        if (baseSha === null) {
          throw new WorkspaceError(
            `the base branch "${baseBranch}" does not exist in ${prepareOptions.repo.owner}/${prepareOptions.repo.name}; check base in .github/kanbot.yml`,
          );
        }
        const remoteBranchSha = await resolveRef(context, mirror, `refs/remotes/origin/${branch}`);
        if (prepareOptions.startFrom === "branch" && remoteBranchSha === null) {
          throw new WorkspaceError(
            `the task branch "${branch}" does not exist in ${prepareOptions.repo.owner}/${prepareOptions.repo.name}; it may have been deleted — run the task again from the base`,
          );
        }
        const startSha =
          prepareOptions.startFrom === "base" ? baseSha : (remoteBranchSha as string);

        // 3. a clean worktree on the branch
        await removeWorktreeLocked(jobId, path, mirror, undefined);
        await freeBranch(mirror, branch, path, jobLog);
        await mkdir(worktreesDir, { recursive: true });
        await git(context, {
          cwd: mirror,
          args: [
            "--git-dir",
            mirror,
            "worktree",
            "add",
            "--quiet",
            "--no-track",
            "-B",
            branch,
            path,
            startSha,
          ],
        });
        const next: Workspace = {
          jobId,
          taskId: prepareOptions.taskId,
          owner: prepareOptions.repo.owner,
          repo: prepareOptions.repo.name,
          url,
          mirrorPath: mirror,
          path,
          gitDir: await worktreeGitDirOf(path),
          branch,
          baseBranch,
          baseSha,
          startSha,
          remoteBranchSha,
          copiedFiles: [],
          createdAt: now(),
        };
        await writeRecord(next);
        return next;
      });
      jobLog.info({ path, branch, startFrom: prepareOptions.startFrom }, "worktree added");
      return { workspace: created, reused: false };
    });

    // 4. setup (outside the locks: `npm ci` must not hold up other jobs on the same mirror)
    if (prepareOptions.setup !== undefined && !workspace.reused) {
      await setup(workspace.workspace, {
        ...prepareOptions.setup,
        signal: prepareOptions.setup.signal ?? prepareOptions.signal,
      });
    }
    return workspace.workspace;
  }

  /** The job's own worktree when it is still registered and on its branch. */
  async function reusable(
    jobId: string,
    path: string,
    branch: string,
  ): Promise<Workspace | undefined> {
    const record = await readRecord(jobId);
    if (record === undefined || record.branch !== branch || !(await isDirectory(path)))
      return undefined;
    const entries = await listWorktrees(context, record.mirrorPath).catch(() => []);
    const entry = entries.find((candidate) => resolve(candidate.path) === path);
    if (entry === undefined || entry.prunable || entry.branch !== `refs/heads/${branch}`)
      return undefined;
    return record;
  }

  /** Detaches any other worktree that has `branch` checked out (a kept failed job of the same task). */
  async function freeBranch(
    mirror: string,
    branch: string,
    ownPath: string,
    jobLog: Logger,
  ): Promise<void> {
    await git(context, { cwd: mirror, args: ["--git-dir", mirror, "worktree", "prune"] });
    for (const entry of await listWorktrees(context, mirror)) {
      if (entry.branch !== `refs/heads/${branch}` || resolve(entry.path) === ownPath) continue;
      jobLog.info({ other: entry.path, branch }, "detaching the branch in another worktree");
      // Through the mirror's own record of that worktree, not its `.git` file (an earlier agent's
      // to rewrite), and without a checkout: HEAD detached at the commit it names, files untouched.
      const admin = await worktreeAdminDir(mirror, entry.path);
      if (admin === undefined || entry.head === null) {
        throw new WorkspaceError(
          `the branch ${branch} is checked out in ${entry.path}, which the mirror ${mirror} does not record properly; remove that folder and run git worktree prune in the mirror`,
        );
      }
      await git(context, {
        cwd: mirror,
        args: ["--git-dir", admin, "update-ref", "--no-deref", "HEAD", entry.head],
      });
    }
  }

  async function setup(workspace: Workspace, setupOptions: SetupOptions): Promise<SetupResult> {
    const jobLog = log.child({ jobId: workspace.jobId });
    const result: SetupResult = { copied: [], missing: [], commands: 0 };
    const copyFiles = (setupOptions.copyFiles ?? []).map(checkRepoRelativePath);
    if (copyFiles.length > 0) {
      if (setupOptions.copyFrom === undefined) {
        throw new WorkspaceError(
          "setup.copyFiles is set but the runner has no folder to copy them from; set copyFrom for this repository in kanbot-runner.yml",
        );
      }
      // Recorded before copying: a copy cut short must still never be committed.
      workspace.copiedFiles = [...new Set([...workspace.copiedFiles, ...copyFiles])];
      await writeRecord(workspace);
      const copied = await copyIgnoredFiles({
        from: setupOptions.copyFrom,
        to: workspace.path,
        paths: copyFiles,
      });
      result.copied = copied.copied;
      result.missing = copied.missing;
      if (copied.missing.length > 0) {
        jobLog.warn({ missing: copied.missing }, "files to copy are missing in the source folder");
      }
    }
    const env = setupOptions.env ?? buildChildEnv({ source: process.env, jobId: workspace.jobId });
    for (const argv of setupOptions.commands ?? []) {
      const [command, ...args] = argv;
      if (command === undefined) continue;
      const cmd = argv.join(" ");
      jobLog.info({ cmd }, "running setup command");
      const run = await runCommand({
        command,
        args,
        cwd: workspace.path,
        env,
        limits: { timeoutMs: setupOptions.timeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS },
        secrets: setupOptions.secrets,
        onLog: setupOptions.onLog,
        signal: setupOptions.signal,
        log: jobLog,
        ...(setupOptions.sandbox !== undefined ? { sandbox: setupOptions.sandbox } : {}),
      });
      try {
        checkSuccess(run, cmd);
      } catch (error) {
        if (error instanceof ExecError) {
          throw new WorkspaceError(`setup command failed: ${error.message}`, { cause: error });
        }
        throw error;
      }
      result.commands += 1;
    }
    return result;
  }

  async function finishWith(
    workspace: Workspace,
    finishOptions: FinishOptions,
    wip: boolean,
  ): Promise<FinishResult> {
    const jobLog = log.child({ jobId: workspace.jobId });
    return mutex.run(workspace.path, async () => {
      // 0. what the agent may have planted: its config (filters, includes), replace refs, grafts
      const repo: WorktreeRepo = {
        worktreePath: workspace.path,
        gitDir:
          workspace.gitDir ?? join(workspace.mirrorPath, "worktrees", basename(workspace.path)),
        mirrorPath: workspace.mirrorPath,
      };
      await mutex.run(workspace.mirrorPath, () =>
        sanitizeMirror(context, workspace.mirrorPath, workspace.url, [repo.gitDir]),
      );

      // 1. commit what the agent left, on top of its own commits; the head is resolved once
      const message =
        finishOptions.message ??
        (wip ? `WIP: unfinished work on ${workspace.branch}` : `Work on ${workspace.branch}`);
      const commit = await commitLeftovers(context, {
        repo,
        message,
        trailers: { taskId: workspace.taskId, jobId: workspace.jobId, wip },
        identity,
        // The agent's question is never committed (runner/job-runner.ts reads and removes it).
        exclude: [...workspace.copiedFiles, QUESTION_FILE],
      });
      const committed = commit !== null;
      const headSha = commit ?? (await headOf(context, repo));

      // 2. what the branch changes, and what the check looks at (in the mirror, on headSha)
      const { changedPaths, checkedPaths } = await branchChanges(context, {
        gitDir: workspace.mirrorPath,
        baseSha: workspace.baseSha,
        startSha: workspace.startSha,
        head: headSha,
      });
      if (headSha === workspace.startSha) {
        jobLog.info({ headSha }, "nothing to push");
        return { status: "no-changes", headSha, committed: false, changedPaths };
      }
      if (headSha === workspace.remoteBranchSha) {
        // This job pushed this commit already (a work-in-progress push, then finish).
        return { status: "pushed", headSha, committed, changedPaths };
      }

      // 3. forbidden paths (copied files are forbidden too: they hold the runner's secrets)
      const patterns = [
        ...(finishOptions.forbiddenPaths ?? DEFAULT_FORBIDDEN_PATHS),
        ...workspace.copiedFiles,
      ];
      const forbidden = pathsMatching(checkedPaths, patterns);
      if (forbidden.length > 0) {
        const matched = patterns.filter(
          (pattern) => pathsMatching(forbidden, [pattern]).length > 0,
        );
        jobLog.warn({ paths: forbidden }, "changes touch forbidden paths");
        throw new ForbiddenPathsError(forbidden, matched);
      }

      // 4. push, unless the lease is gone
      return mutex.run(workspace.mirrorPath, async () => {
        if (!(await finishOptions.canPush())) {
          jobLog.warn({ headSha }, "lease lost, not pushing");
          return { status: "not-pushed", reason: "lease-lost", headSha, committed, changedPaths };
        }
        let leaseGone = false;
        try {
          await pushFromMirror(context, workspace.mirrorPath, {
            url: workspace.url,
            token: finishOptions.token,
            sha: headSha,
            branch: workspace.branch,
            expected: workspace.remoteBranchSha,
            beforeTokenGit: async () => {
              await finishOptions.beforeTokenGit?.();
              // The lease once more, right before git push starts: a runner paused since the
              // check above must not push a job whose lease ended meanwhile.
              if (!(await finishOptions.canPush())) {
                leaseGone = true;
                throw new Error("lease gone before the push");
              }
            },
          });
        } catch (error) {
          if (!leaseGone) throw error;
          jobLog.warn({ headSha }, "lease lost, not pushing");
          return { status: "not-pushed", reason: "lease-lost", headSha, committed, changedPaths };
        }
        workspace.remoteBranchSha = headSha;
        await writeRecord(workspace);
        jobLog.info({ headSha, branch: workspace.branch, wip }, "branch pushed");
        return { status: "pushed", headSha, committed, changedPaths };
      });
    });
  }

  async function release(target: Workspace | string, outcome: JobOutcome): Promise<void> {
    const jobId = typeof target === "string" ? target : target.jobId;
    if (outcome === "succeeded" || keepFailedMs <= 0) {
      await remove(jobId);
      return;
    }
    const record = typeof target === "string" ? await readRecord(jobId) : target;
    if (record === undefined) return;
    record.failedAt = now();
    await writeRecord(record);
    log.child({ jobId }).info({ path: record.path, keepFailedMs }, "keeping failed worktree");
  }

  async function remove(jobId: string): Promise<void> {
    const path = worktreePath(jobId);
    await mutex.run(path, async () => {
      const record = await readRecord(jobId);
      const mirror = record?.mirrorPath ?? (await mirrorOfWorktree(path));
      if (mirror !== undefined && (await isDirectory(mirror))) {
        await mutex.run(mirror, () => removeWorktreeLocked(jobId, path, mirror, record?.branch));
      } else {
        await rm(path, { recursive: true, force: true });
      }
      await rm(recordPath(jobId), { force: true });
    });
    log.child({ jobId }).info({ path }, "worktree removed");
  }

  /** Removes a worktree and (when given) its branch; both locks must be held. */
  async function removeWorktreeLocked(
    jobId: string,
    path: string,
    mirror: string,
    branch: string | undefined,
  ): Promise<void> {
    const registered = (await listWorktrees(context, mirror)).some(
      (entry) => resolve(entry.path) === path,
    );
    if (registered && (await isDirectory(path))) {
      await git(context, {
        cwd: mirror,
        args: ["--git-dir", mirror, "worktree", "remove", "--force", "--force", path],
      }).catch((error: unknown) => {
        // A half-made worktree can fail to remove as one; deleting the folder is enough.
        log
          .child({ jobId })
          .warn({ err: error, path }, "git worktree remove failed, deleting the folder");
      });
    }
    await rm(path, { recursive: true, force: true });
    await git(context, { cwd: mirror, args: ["--git-dir", mirror, "worktree", "prune"] });
    if (branch === undefined) return;
    const holders = (await listWorktrees(context, mirror)).filter(
      (entry) => entry.branch === `refs/heads/${branch}`,
    );
    if (holders.length > 0) return;
    await git(context, {
      cwd: mirror,
      args: ["--git-dir", mirror, "branch", "--quiet", "-D", branch],
      okExitCodes: [1],
    }).catch((error: unknown) => {
      if (!(error instanceof GitError)) throw error;
    });
  }

  async function list(): Promise<Workspace[]> {
    const names = await readdir(jobsDir).catch(() => [] as string[]);
    const records: Workspace[] = [];
    for (const name of names) {
      if (!name.endsWith(".json")) continue;
      const record = await readRecord(name.slice(0, -".json".length));
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  async function sweepOrphans(sweepOptions: SweepOptions): Promise<SweepResult> {
    const active = new Set(sweepOptions.activeJobIds);
    const keepFor = sweepOptions.keepFailedMs ?? keepFailedMs;
    const folders = (await readdir(worktreesDir, { withFileTypes: true }).catch(() => []))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const recorded = (await readdir(jobsDir).catch(() => [] as string[]))
      .filter((name) => name.endsWith(".json"))
      .map((name) => name.slice(0, -".json".length));
    const result: SweepResult = { removed: [], kept: [] };
    for (const jobId of [...new Set([...folders, ...recorded])].sort()) {
      if (!JOB_ID.test(jobId)) continue;
      if (active.has(jobId)) {
        result.kept.push(jobId);
        continue;
      }
      const record = await readRecord(jobId);
      if (record?.failedAt !== undefined && sweepOptions.now - record.failedAt < keepFor) {
        result.kept.push(jobId);
        continue;
      }
      await remove(jobId);
      result.removed.push(jobId);
    }
    for (const mirror of await listMirrors()) {
      await mutex.run(mirror, () =>
        git(context, { cwd: mirror, args: ["--git-dir", mirror, "worktree", "prune"] }),
      );
    }
    if (result.removed.length > 0) log.info({ removed: result.removed }, "orphan worktrees swept");
    return result;
  }

  async function listMirrors(): Promise<string[]> {
    const mirrors: string[] = [];
    for (const owner of await readdir(mirrorsDir).catch(() => [] as string[])) {
      for (const repo of await readdir(join(mirrorsDir, owner)).catch(() => [] as string[])) {
        if (repo.endsWith(".git")) mirrors.push(join(mirrorsDir, owner, repo));
      }
    }
    return mirrors;
  }

  return {
    workDir,
    mirrorPath,
    worktreePath,
    prepare,
    setup,
    finish: (workspace, finishOptions) => finishWith(workspace, finishOptions, false),
    pushWorkInProgress: (workspace, finishOptions) => finishWith(workspace, finishOptions, true),
    release,
    remove,
    sweepOrphans,
    list,
  };
}

/** The clone URL of a repository; refuses one that carries credentials. */
export function cloneUrlOf(repo: RepoRef, gitBaseUrl = "https://github.com"): string {
  const url = repo.cloneUrl ?? `${gitBaseUrl.replace(/\/+$/, "")}/${repo.owner}/${repo.name}.git`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const parsed = new URL(url);
    if (parsed.username !== "" || parsed.password !== "") {
      throw new WorkspaceError(
        `the clone URL of ${repo.owner}/${repo.name} carries credentials; give the URL without them (the job token is passed to git separately)`,
      );
    }
  }
  return url;
}

function checkName(name: string, what: string): void {
  if (!SAFE_NAME.test(name) || name === "." || name === "..") {
    throw new WorkspaceError(
      `${what} "${name}" is not a GitHub name (letters, digits, ".", "-", "_")`,
    );
  }
}

function checkJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) {
    throw new WorkspaceError(
      `job id "${jobId}" cannot name a folder (letters, digits, ".", "-", "_"; at most 128)`,
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
