// Real git in temporary folders: a bare repository stands in for GitHub (reached by its path, so
// without authentication; test/integration/workspace/credentials.test.ts covers the token over
// HTTP). No assertion is about time.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ForbiddenPathsError, GitError, WorkspaceError } from "../../../runner/workspace/errors.js";
import {
  createWorkspaces,
  type PrepareOptions,
  type Workspace,
  type Workspaces,
  type WorkspacesOptions,
} from "../../../runner/workspace/workspaces.js";
import {
  branchHead,
  commitToRemote,
  createBareRemote,
  gitSync,
  makeTempDir,
  writeFiles,
} from "../../helpers/git-repos.js";

const BRANCH = "kanbot/1-fix-login";

let root: string;
let remote: string;
let workDir: string;
let workspaces: Workspaces;

function manager(overrides: Partial<WorkspacesOptions> = {}): Workspaces {
  return createWorkspaces({
    workDir,
    gitEnv: { source: { PATH: process.env.PATH, HOME: root } },
    lockRetry: { sleep: async () => undefined },
    ...overrides,
  });
}

function prepareOptions(overrides: Partial<PrepareOptions> = {}): PrepareOptions {
  return {
    jobId: "job-1",
    taskId: "task-1",
    repo: { owner: "acme", name: "app", cloneUrl: remote },
    token: undefined,
    branch: BRANCH,
    baseBranch: "main",
    startFrom: "base",
    ...overrides,
  };
}

/** The agent's part: edits and commits in the worktree, as a person. */
function agentCommits(
  workspace: Workspace,
  files: Record<string, string>,
  message: string,
): string {
  writeFiles(workspace.path, files);
  gitSync(workspace.path, "add", "--", ...Object.keys(files));
  gitSync(workspace.path, "commit", "--quiet", "-m", message);
  return gitSync(workspace.path, "rev-parse", "HEAD");
}

const leaseHeld = async (): Promise<boolean> => true;

beforeEach(() => {
  root = makeTempDir("workspace");
  remote = join(root, "remote", "acme", "app.git");
  workDir = join(root, "work");
  createBareRemote(remote);
  workspaces = manager();
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("mirror", () => {
  it("is created bare on the first job and fetched on the next, with a URL without credentials", async () => {
    const first = await workspaces.prepare(prepareOptions());
    const mirror = join(workDir, "mirrors", "acme", "app.git");
    const moved = commitToRemote(remote, "main", { "src/new.ts": "export {};\n" }, "more work");

    const second = await workspaces.prepare(
      prepareOptions({ jobId: "job-2", branch: "kanbot/2-other" }),
    );

    expect(first.mirrorPath).toBe(mirror);
    expect(gitSync(mirror, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(gitSync(mirror, "config", "--get", "remote.origin.url")).toBe(remote);
    expect(second.baseSha).toBe(moved);
    expect(first.baseSha).not.toBe(moved);
    expect(gitSync(mirror, "rev-parse", "refs/remotes/origin/main")).toBe(moved);
  });

  it("undoes what was written to its config between jobs", async () => {
    const first = await workspaces.prepare(prepareOptions());
    gitSync(first.path, "config", "remote.origin.url", "https://evil.example/acme/app.git");
    gitSync(first.path, "config", "url.https://evil.example/.insteadOf", remote);

    await workspaces.prepare(prepareOptions({ jobId: "job-2", branch: "kanbot/2-other" }));

    expect(gitSync(first.mirrorPath, "config", "--get", "remote.origin.url")).toBe(remote);
    expect(() => gitSync(first.mirrorPath, "config", "--get-regexp", "^url\\.")).toThrow();
  });
});

describe("worktrees", () => {
  it("adds a worktree on a new task branch from origin/<base>", async () => {
    const workspace = await workspaces.prepare(prepareOptions());

    expect(workspace.path).toBe(join(workDir, "worktrees", "job-1"));
    expect(gitSync(workspace.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(BRANCH);
    expect(gitSync(workspace.path, "rev-parse", "HEAD")).toBe(branchHead(remote, "main"));
    expect(workspace.startSha).toBe(workspace.baseSha);
    expect(workspace.remoteBranchSha).toBeNull();
    expect(readFileSync(join(workspace.path, "src/index.ts"), "utf8")).toContain("answer");
  });

  it("checks out the existing remote task branch for a follow-up job", async () => {
    const head = commitToRemote(remote, BRANCH, { "src/fix.ts": "fixed\n" }, "first attempt", {
      create: true,
    });

    const workspace = await workspaces.prepare(prepareOptions({ startFrom: "branch" }));

    expect(gitSync(workspace.path, "rev-parse", "HEAD")).toBe(head);
    expect(gitSync(workspace.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(BRANCH);
    expect(workspace.remoteBranchSha).toBe(head);
    expect(workspace.baseSha).toBe(branchHead(remote, "main"));
    expect(existsSync(join(workspace.path, "src/fix.ts"))).toBe(true);
  });

  it("starts from the remote's default branch when the job names no base", async () => {
    const trunk = commitToRemote(remote, "trunk", { "TRUNK.md": "t\n" }, "trunk", { create: true });
    gitSync(remote, "symbolic-ref", "HEAD", "refs/heads/trunk");

    const workspace = await workspaces.prepare(prepareOptions({ baseBranch: null }));

    expect(workspace.baseBranch).toBe("trunk");
    expect(workspace.baseSha).toBe(trunk);
    expect(gitSync(workspace.path, "rev-parse", "HEAD")).toBe(trunk);
  });

  it("says so when a follow-up job's branch or the base is missing", async () => {
    await expect(workspaces.prepare(prepareOptions({ startFrom: "branch" }))).rejects.toThrow(
      /task branch "kanbot\/1-fix-login" does not exist/,
    );
    await expect(workspaces.prepare(prepareOptions({ baseBranch: "develop" }))).rejects.toThrow(
      WorkspaceError,
    );
  });

  it("recreates a job's worktree cleanly when added again, or reuses it when asked", async () => {
    const first = await workspaces.prepare(prepareOptions());
    writeFileSync(join(first.path, "leftover.txt"), "from a crashed attempt\n");

    const again = await workspaces.prepare(prepareOptions());
    const leftoverAfterRecreate = existsSync(join(again.path, "leftover.txt"));
    writeFileSync(join(again.path, "resume.txt"), "keep me\n");
    const reused = await workspaces.prepare(prepareOptions({ reuseExisting: true }));

    expect(again.path).toBe(first.path);
    expect(leftoverAfterRecreate).toBe(false);
    expect(existsSync(join(reused.path, "resume.txt"))).toBe(true);
    expect(worktreePaths(first.mirrorPath)).toEqual([first.path]);
  });

  it("removes idempotently: twice, or a job that never had a worktree", async () => {
    const workspace = await workspaces.prepare(prepareOptions());

    await workspaces.remove("job-1");
    await workspaces.remove("job-1");
    await workspaces.remove("never-existed");

    expect(existsSync(workspace.path)).toBe(false);
    expect(worktreePaths(workspace.mirrorPath)).toEqual([]);
    expect(localBranches(workspace.mirrorPath)).not.toContain(BRANCH);
  });

  it("serialises concurrent operations on the same path and on the same mirror", async () => {
    const sameJob = Array.from({ length: 4 }, () => workspaces.prepare(prepareOptions()));
    const otherJobs = Array.from({ length: 3 }, (_, index) =>
      workspaces.prepare(
        prepareOptions({ jobId: `job-x${index}`, branch: `kanbot/${10 + index}-x` }),
      ),
    );

    const results = await Promise.all([...sameJob, ...otherJobs]);
    const [removal, last] = await Promise.all([
      workspaces.remove("job-x0"),
      workspaces.prepare(prepareOptions({ jobId: "job-x0", branch: "kanbot/10-x" })),
    ]);

    expect(removal).toBeUndefined();
    expect(results).toHaveLength(7);
    const mirror = last.mirrorPath;
    expect(worktreePaths(mirror)).toEqual(
      ["job-1", "job-x0", "job-x1", "job-x2"].map((id) => join(workDir, "worktrees", id)),
    );
    expect(gitSync(last.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("kanbot/10-x");
    expect(gitSync(join(workDir, "worktrees", "job-1"), "status", "--porcelain")).toBe("");
  });

  it("frees the branch from a kept worktree of an earlier job of the same task", async () => {
    const failed = await workspaces.prepare(prepareOptions({ jobId: "job-1" }));
    await workspaces.release(failed, "failed");

    const next = await workspaces.prepare(prepareOptions({ jobId: "job-2" }));

    expect(gitSync(next.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(BRANCH);
    expect(gitSync(failed.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
  });

  it("frees the branch through the mirror's record, not a kept worktree's rewritten .git file", async () => {
    const failed = await workspaces.prepare(prepareOptions({ jobId: "job-1" }));
    await workspaces.release(failed, "failed");
    // The earlier agent pointed its worktree's .git at a repository of its own, whose HEAD would
    // be the one a naive `git checkout --detach` in that folder changes (and whose config git
    // would read).
    const decoy = join(failed.path, "decoy.git");
    gitSync(failed.path, "init", "--quiet", "--bare", decoy);
    writeFileSync(join(failed.path, ".git"), `gitdir: ${decoy}\n`);
    const decoyHead = readFileSync(join(decoy, "HEAD"), "utf8");

    const next = await workspaces.prepare(prepareOptions({ jobId: "job-2" }));

    expect(gitSync(next.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(BRANCH);
    // The mirror's own record of the old worktree is detached; the decoy was not touched.
    const record = readFileSync(join(failed.mirrorPath, "worktrees", "job-1", "HEAD"), "utf8");
    expect(record).toMatch(/^[0-9a-f]{40}\n$/);
    expect(readFileSync(join(decoy, "HEAD"), "utf8")).toBe(decoyHead);
  });

  it("retries when another git process holds the index lock", async () => {
    const retries: string[] = [];
    workspaces = manager({
      lockRetry: {
        sleep: async () => undefined,
        onRetry: (error) => {
          retries.push(error.kind);
          rmSync(lockFile, { force: true });
        },
      },
    });
    const workspace = await workspaces.prepare(prepareOptions());
    const lockFile = join(workspace.mirrorPath, "worktrees", "job-1", "index.lock");
    writeFileSync(join(workspace.path, "change.txt"), "x\n");
    writeFileSync(lockFile, "");

    const result = await workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    expect(retries).toEqual(["lock"]);
    expect(result.status).toBe("pushed");
  });
});

describe("setup", () => {
  it("copies configured files and runs setup commands without a shell in the worktree", async () => {
    const source = join(root, "local-copy");
    writeFiles(source, { ".env": "API_URL=http://localhost\n", "config/local.json": "{}\n" });

    const workspace = await workspaces.prepare(
      prepareOptions({
        setup: {
          copyFrom: source,
          copyFiles: [".env", "config/local.json", "missing.txt"],
          commands: [
            [
              process.execPath,
              "-e",
              "require('fs').writeFileSync('setup-ran.txt', process.argv[1] + ' ' + process.env.KANBOT_JOB_ID)",
              "$(not a shell)",
            ],
          ],
        },
      }),
    );

    expect(readFileSync(join(workspace.path, ".env"), "utf8")).toBe("API_URL=http://localhost\n");
    expect(readFileSync(join(workspace.path, "config/local.json"), "utf8")).toBe("{}\n");
    expect(readFileSync(join(workspace.path, "setup-ran.txt"), "utf8")).toBe(
      "$(not a shell) job-1",
    );
    expect(workspace.copiedFiles).toEqual([".env", "config/local.json", "missing.txt"]);
  });

  it("refuses paths outside the source or the worktree", async () => {
    const source = join(root, "local-copy");
    writeFiles(source, { ".env": "X=1\n", "linked/.env": "X=2\n" });
    const outside = join(root, "outside");
    mkdirSync(outside);
    const workspace = await workspaces.prepare(prepareOptions());
    symlinkSync(outside, join(workspace.path, "linked"));

    const setups = [
      workspaces.setup(workspace, { copyFrom: source, copyFiles: ["../secret"] }),
      workspaces.setup(workspace, { copyFrom: source, copyFiles: ["/etc/passwd"] }),
      workspaces.setup(workspace, { copyFrom: source, copyFiles: [".git/config"] }),
      workspaces.setup(workspace, { copyFrom: source, copyFiles: ["linked/.env"] }),
    ];

    for (const setup of setups) await expect(setup).rejects.toThrow(WorkspaceError);
    expect(existsSync(join(outside, ".env"))).toBe(false);
  });

  it("fails with the command when a setup command fails", async () => {
    const setup = workspaces.prepare(
      prepareOptions({ setup: { commands: [[process.execPath, "-e", "process.exit(3)"]] } }),
    );

    await expect(setup).rejects.toThrow(/setup command failed: .*exited with code 3/);
  });
});

describe("finish", () => {
  it("commits leftovers with trailers on top of the agent's commits and pushes the branch", async () => {
    const source = join(root, "local-copy");
    writeFiles(source, { "secrets.json": '{"key":"local"}\n' });
    const workspace = await workspaces.prepare(
      prepareOptions({ setup: { copyFrom: source, copyFiles: ["secrets.json"] } }),
    );
    const agentCommit = agentCommits(workspace, { "src/login.ts": "login\n" }, "agent: add login");
    writeFiles(workspace.path, {
      "src/index.ts": "export const answer = 43;\n",
      "docs/new.md": "new\n",
    });
    rmSync(join(workspace.path, "README.md"));

    const result = await workspaces.finish(workspace, {
      token: undefined,
      message: "Fix the login redirect",
      canPush: leaseHeld,
    });

    expect(result.status).toBe("pushed");
    expect(result.committed).toBe(true);
    expect(branchHead(remote, BRANCH)).toBe(result.headSha);
    expect(gitSync(remote, "rev-parse", `${result.headSha}^`)).toBe(agentCommit);
    expect(gitSync(remote, "log", "-1", "--format=%s", result.headSha)).toBe(
      "Fix the login redirect",
    );
    expect(trailers(result.headSha)).toEqual({
      "Kanbot-Task": "task-1",
      "Kanbot-Job": "job-1",
    });
    expect(gitSync(remote, "log", "-1", "--format=%an <%ae>", result.headSha)).toBe(
      "kanbot[bot] <kanbot[bot]@users.noreply.github.com>",
    );
    expect(result.changedPaths.sort()).toEqual([
      "README.md",
      "docs/new.md",
      "src/index.ts",
      "src/login.ts",
    ]);
    expect(gitSync(remote, "ls-tree", "-r", "--name-only", result.headSha)).not.toContain(
      "secrets.json",
    );
    expect(workspace.remoteBranchSha).toBe(result.headSha);
  });

  it("pushes only the agent's commits when nothing is left uncommitted", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    const agentCommit = agentCommits(workspace, { "a.txt": "a\n" }, "agent work");

    const result = await workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    expect(result).toMatchObject({ status: "pushed", committed: false, headSha: agentCommit });
    expect(branchHead(remote, BRANCH)).toBe(agentCommit);
  });

  it("reports no changes and pushes nothing when the agent changed nothing", async () => {
    const workspace = await workspaces.prepare(prepareOptions());

    const result = await workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    expect(result.status).toBe("no-changes");
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("fails naming the files when the changes touch forbidden paths, and pushes nothing", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    writeFiles(workspace.path, {
      ".github/workflows/ci.yml": "on: pull_request\n",
      ".github/workflows/new.yml": "on: push\n",
      "src/ok.ts": "ok\n",
    });

    const finish = workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    const error = await finish.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForbiddenPathsError);
    expect((error as ForbiddenPathsError).paths).toEqual([
      ".github/workflows/ci.yml",
      ".github/workflows/new.yml",
    ]);
    expect((error as Error).message).toContain(
      ".github/workflows/ci.yml, .github/workflows/new.yml",
    );
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("applies the repository's own forbidden patterns and treats copied files as forbidden", async () => {
    const source = join(root, "local-copy");
    writeFiles(source, { ".env": "TOKEN=local\n" });
    const workspace = await workspaces.prepare(
      prepareOptions({ setup: { copyFrom: source, copyFiles: [".env"] } }),
    );
    gitSync(workspace.path, "add", "--force", ".env");
    gitSync(workspace.path, "commit", "--quiet", "-m", "agent commits the copied .env");
    writeFiles(workspace.path, { "infra/prod.tf": "x\n" });

    const finish = workspaces.finish(workspace, {
      token: undefined,
      forbiddenPaths: ["infra/**"],
      canPush: leaseHeld,
    });

    await expect(finish).rejects.toMatchObject({ paths: [".env", "infra/prod.tf"] });
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("does not push when the lease is gone", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    writeFiles(workspace.path, { "src/work.ts": "work\n" });
    let asked = 0;

    const result = await workspaces.finish(workspace, {
      token: undefined,
      canPush: async () => {
        asked += 1;
        return false;
      },
    });

    expect(result).toMatchObject({ status: "not-pushed", reason: "lease-lost", committed: true });
    expect(asked).toBe(1);
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("pushes work in progress with a Kanbot-WIP trailer, so nothing is lost", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    writeFiles(workspace.path, { "src/half-done.ts": "// TODO\n" });

    const wip = await workspaces.pushWorkInProgress(workspace, {
      token: undefined,
      canPush: leaseHeld,
    });
    const final = await workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    expect(wip.status).toBe("pushed");
    expect(branchHead(remote, BRANCH)).toBe(wip.headSha);
    expect(trailers(wip.headSha)).toEqual({
      "Kanbot-Task": "task-1",
      "Kanbot-Job": "job-1",
      "Kanbot-WIP": "true",
    });
    expect(gitSync(remote, "log", "-1", "--format=%s", wip.headSha)).toMatch(/^WIP: /);
    expect(final).toMatchObject({ status: "pushed", headSha: wip.headSha, committed: false });
  });

  it("updates a follow-up job's branch, and rewrites it for a rebase, under a lease", async () => {
    const first = commitToRemote(remote, BRANCH, { "src/fix.ts": "v1\n" }, "first attempt", {
      create: true,
    });
    const followUp = await workspaces.prepare(
      prepareOptions({ jobId: "job-2", startFrom: "branch" }),
    );
    writeFiles(followUp.path, { "src/fix.ts": "v2\n" });
    const revised = await workspaces.finish(followUp, { token: undefined, canPush: leaseHeld });
    await workspaces.release(followUp, "succeeded");
    const newBase = commitToRemote(remote, "main", { "CHANGELOG.md": "1.1\n" }, "base moves");
    const rebase = await workspaces.prepare(
      prepareOptions({ jobId: "job-3", startFrom: "branch" }),
    );
    gitSync(rebase.path, "rebase", "--quiet", "origin/main");

    const rebased = await workspaces.finish(rebase, { token: undefined, canPush: leaseHeld });

    expect(revised.status).toBe("pushed");
    expect(gitSync(remote, "rev-parse", `${revised.headSha}^`)).toBe(first);
    expect(rebased.status).toBe("pushed");
    expect(branchHead(remote, BRANCH)).toBe(rebased.headSha);
    expect(gitSync(remote, "merge-base", "--is-ancestor", newBase, rebased.headSha)).toBe("");
    expect(rebased.changedPaths).toEqual(["src/fix.ts"]);
  });

  it("refuses to overwrite a branch someone else pushed to since the job started", async () => {
    commitToRemote(remote, BRANCH, { "src/fix.ts": "v1\n" }, "first attempt", { create: true });
    const workspace = await workspaces.prepare(prepareOptions({ startFrom: "branch" }));
    const theirs = commitToRemote(
      remote,
      BRANCH,
      { "src/other.ts": "theirs\n" },
      "a person pushes",
    );
    writeFiles(workspace.path, { "src/fix.ts": "mine\n" });

    const finish = workspaces.finish(workspace, { token: undefined, canPush: leaseHeld });

    await expect(finish).rejects.toSatisfy(
      (error: unknown) => error instanceof GitError && error.kind === "rejected",
    );
    expect(branchHead(remote, BRANCH)).toBe(theirs);
  });
});

describe("cleanup", () => {
  it("removes a succeeded job's worktree and branch, and keeps a failed one", async () => {
    const succeeded = await workspaces.prepare(
      prepareOptions({ jobId: "job-ok", branch: "kanbot/1-ok" }),
    );
    const failed = await workspaces.prepare(
      prepareOptions({ jobId: "job-bad", branch: "kanbot/2-bad" }),
    );

    await workspaces.release(succeeded, "succeeded");
    await workspaces.release(failed, "failed");

    expect(existsSync(succeeded.path)).toBe(false);
    expect(localBranches(succeeded.mirrorPath)).toEqual(["kanbot/2-bad"]);
    expect(existsSync(failed.path)).toBe(true);
    expect(
      (await workspaces.list()).map((record) => [record.jobId, typeof record.failedAt]),
    ).toEqual([["job-bad", "number"]]);
  });

  it("sweeps orphans: keeps active jobs and recent failures, removes the rest and expired failures", async () => {
    let clock = 1_000;
    workspaces = manager({ now: () => clock, keepFailedMs: 500 });
    const active = await workspaces.prepare(
      prepareOptions({ jobId: "active", branch: "kanbot/1-a" }),
    );
    const failed = await workspaces.prepare(
      prepareOptions({ jobId: "failed", branch: "kanbot/2-f" }),
    );
    await workspaces.release(failed, "failed");
    const crashed = await workspaces.prepare(
      prepareOptions({ jobId: "crashed", branch: "kanbot/3-c" }),
    );
    const stray = join(workDir, "worktrees", "stray");
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, "junk.txt"), "x\n");
    rmSync(join(workDir, "worktrees", "..", "jobs", "crashed.json"));
    clock = 1_400;

    const first = await workspaces.sweepOrphans({ activeJobIds: ["active"], now: clock });
    const second = await workspaces.sweepOrphans({ activeJobIds: ["active"], now: 1_600 });

    expect(first).toEqual({ removed: ["crashed", "stray"], kept: ["active", "failed"] });
    expect(second).toEqual({ removed: ["failed"], kept: ["active"] });
    expect(existsSync(crashed.path)).toBe(false);
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(failed.path)).toBe(false);
    expect(worktreePaths(active.mirrorPath)).toEqual([active.path]);
  });
});

function worktreePaths(mirror: string): string[] {
  return gitSync(mirror, "worktree", "list", "--porcelain")
    .split("\n")
    .filter((line) => line.startsWith("worktree ") && !line.endsWith(".git"))
    .map((line) => line.slice("worktree ".length))
    .sort();
}

function localBranches(mirror: string): string[] {
  const text = gitSync(mirror, "for-each-ref", "--format=%(refname:short)", "refs/heads");
  return text === "" ? [] : text.split("\n").sort();
}

function trailers(sha: string): Record<string, string> {
  const text = gitSync(remote, "log", "-1", "--format=%(trailers:only,unfold)", sha);
  return Object.fromEntries(
    text
      .split("\n")
      .filter((line) => line.includes(": "))
      .map((line) => line.split(": ", 2) as [string, string]),
  );
}
