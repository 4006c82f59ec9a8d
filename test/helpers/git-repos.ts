/**
 * Real git repositories in temporary folders for workspace tests: a bare "remote" standing in for
 * GitHub, commits pushed to it from scratch clones, and a hermetic environment (no global or
 * system config, fixed identity) for every git command the tests run themselves.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The environment of the tests' own git commands. */
export function testGitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: tmpdir(),
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Test Person",
    GIT_AUTHOR_EMAIL: "person@example.com",
    GIT_COMMITTER_NAME: "Test Person",
    GIT_COMMITTER_EMAIL: "person@example.com",
  };
}

/** Runs git synchronously in `cwd` and returns its trimmed stdout. */
export function gitSync(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: testGitEnv(), encoding: "utf8" }).trim();
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kanbot-${prefix}-`));
}

/** Files as path -> content. */
export type FileTree = Readonly<Record<string, string>>;

export const INITIAL_FILES: FileTree = {
  "README.md": "# app\n",
  "src/index.ts": "export const answer = 42;\n",
  ".github/workflows/ci.yml": "on: push\n",
  ".gitignore": ".env\nnode_modules/\n",
};

/** Creates a bare repository at `path` whose `main` holds `files`. */
export function createBareRemote(path: string, files: FileTree = INITIAL_FILES): void {
  mkdirSync(dirname(path), { recursive: true });
  gitSync(dirname(path), "init", "--quiet", "--bare", "--initial-branch=main", path);
  commitToRemote(path, "main", files, "initial commit", { create: true });
}

export interface CommitToRemoteOptions {
  /** The branch does not exist yet: create it from `from` (default `main`), or as the first commit. */
  create?: boolean;
  from?: string;
}

/** Commits `files` on `branch` of the bare `remote` through a scratch clone; returns the commit. */
export function commitToRemote(
  remote: string,
  branch: string,
  files: FileTree,
  message: string,
  options: CommitToRemoteOptions = {},
): string {
  const scratch = makeTempDir("scratch");
  try {
    gitSync(scratch, "init", "--quiet", "--initial-branch=main", ".");
    gitSync(scratch, "remote", "add", "origin", remote);
    const empty = gitSync(remote, "for-each-ref", "refs/heads") === "";
    if (!empty) gitSync(scratch, "fetch", "--quiet", "origin");
    if (options.create === true) {
      if (!empty)
        gitSync(scratch, "checkout", "--quiet", "-b", branch, `origin/${options.from ?? "main"}`);
      else gitSync(scratch, "checkout", "--quiet", "-b", branch);
    } else {
      gitSync(scratch, "checkout", "--quiet", "-b", branch, `origin/${branch}`);
    }
    writeFiles(scratch, files);
    gitSync(scratch, "add", "--all");
    gitSync(scratch, "commit", "--quiet", "-m", message);
    gitSync(scratch, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    return gitSync(scratch, "rev-parse", "HEAD");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The commit a branch of a bare repository points to, or `null`. */
export function branchHead(repo: string, branch: string): string | null {
  try {
    return gitSync(repo, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`);
  } catch {
    return null;
  }
}

/** Writes files under `root`, creating folders. */
export function writeFiles(root: string, files: FileTree): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Every file under `root` (symbolic links not followed). */
export function listFilesRecursive(root: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) files.push(...listFilesRecursive(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** The files under `root` whose bytes contain any of `needles`. */
export function filesContaining(root: string, needles: readonly string[]): string[] {
  return listFilesRecursive(root).filter((path) => {
    const bytes = readFileSync(path);
    return needles.some((needle) => bytes.includes(needle));
  });
}
