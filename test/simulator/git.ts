/**
 * The simulator's git: bare repositories on disk, served over smart HTTP by `git http-backend`
 * (`serveGitHttp`, also behind test/helpers/git-http-server.ts), plus the plumbing GitHub does on the server
 * side: reading branches and files, test merges (`git merge-tree`) and merge commits.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";

import { testGitEnv } from "../helpers/git-repos.js";

const execFileAsync = promisify(execFile);

/** The identity of the commits the simulator writes itself (merges). */
const SERVER_IDENTITY = {
  GIT_AUTHOR_NAME: "GitHub",
  GIT_AUTHOR_EMAIL: "noreply@github.com",
  GIT_COMMITTER_NAME: "GitHub",
  GIT_COMMITTER_EMAIL: "noreply@github.com",
} as const;

/** Runs git in the bare repository `gitDir`; returns its stdout untrimmed. */
export async function git(gitDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("git", ["--git-dir", gitDir, ...args], {
    env: { ...testGitEnv(), ...SERVER_IDENTITY },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** Like {@link git} but resolves to the exit code instead of throwing on a non-zero one. */
async function gitStatus(
  gitDir: string,
  ...args: string[]
): Promise<{ code: number; out: string }> {
  try {
    return { code: 0, out: await git(gitDir, ...args) };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: unknown };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, out: typeof failed.stdout === "string" ? failed.stdout : "" };
  }
}

/** Creates an empty bare repository whose HEAD names `defaultBranch`. */
export async function initBare(gitDir: string, defaultBranch: string): Promise<void> {
  mkdirSync(gitDir, { recursive: true });
  await git(gitDir, "init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`);
  await git(gitDir, "config", "http.receivepack", "true");
}

/** Every branch and the commit it points to. */
export async function branches(gitDir: string): Promise<Map<string, string>> {
  const out = await git(gitDir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads");
  const result = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [ref, sha] = line.split(" ");
    if (ref !== undefined && sha !== undefined) result.set(ref.slice("refs/heads/".length), sha);
  }
  return result;
}

export async function branchSha(gitDir: string, branch: string): Promise<string | undefined> {
  return (await branches(gitDir)).get(branch);
}

/** A file's bytes at `ref`, or undefined when the ref or the file does not exist. */
export async function readFileAt(
  gitDir: string,
  ref: string,
  path: string,
): Promise<Buffer | undefined> {
  try {
    const { stdout } = await execFileAsync("git", ["--git-dir", gitDir, "show", `${ref}:${path}`], {
      env: testGitEnv(),
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch {
    return undefined;
  }
}

export async function commitExists(gitDir: string, sha: string): Promise<boolean> {
  return (await gitStatus(gitDir, "cat-file", "-e", `${sha}^{commit}`)).code === 0;
}

/** Whether `ancestor` is reachable from `commit`. */
export async function isAncestor(
  gitDir: string,
  ancestor: string,
  commit: string,
): Promise<boolean> {
  return (await gitStatus(gitDir, "merge-base", "--is-ancestor", ancestor, commit)).code === 0;
}

/** The tree of merging `head` into `base`, or undefined when they conflict. */
export async function testMerge(
  gitDir: string,
  base: string,
  head: string,
): Promise<string | undefined> {
  const { code, out } = await gitStatus(gitDir, "merge-tree", "--write-tree", base, head);
  if (code !== 0) return undefined;
  return out.split("\n")[0]?.trim();
}

export type MergeMethod = "merge" | "squash" | "rebase";

/**
 * Merges `head` into `branch` (at `base`) as GitHub's merge button does: a merge commit, or one
 * squashed commit (rebase is simulated as a squash: one new commit on top of the base).
 * Returns the new commit, or undefined on a conflict.
 */
export async function mergeInto(
  gitDir: string,
  branch: string,
  base: string,
  head: string,
  method: MergeMethod,
  message: string,
): Promise<string | undefined> {
  const tree = await testMerge(gitDir, base, head);
  if (tree === undefined) return undefined;
  const parents = method === "merge" ? ["-p", base, "-p", head] : ["-p", base];
  const sha = (await git(gitDir, "commit-tree", tree, ...parents, "-m", message)).trim();
  await git(gitDir, "update-ref", `refs/heads/${branch}`, sha, base);
  return sha;
}

export async function deleteBranch(gitDir: string, branch: string): Promise<void> {
  await git(gitDir, "update-ref", "-d", `refs/heads/${branch}`);
}

/** Writes the files of `sha` into `dir` (which must exist). */
export async function exportCommit(gitDir: string, sha: string, dir: string): Promise<void> {
  await execFileAsync(
    "sh",
    ["-c", 'git --git-dir "$1" archive "$2" | tar -x -C "$3"', "sh", gitDir, sha, dir],
    {
      env: testGitEnv(),
    },
  );
}

/** The first line of a commit's message. */
export async function commitSubject(gitDir: string, sha: string): Promise<string> {
  return (await git(gitDir, "log", "-1", "--format=%s", sha)).trim();
}

/**
 * Answers one smart-HTTP request (`/owner/repo.git/info/refs`, `…/git-upload-pack`,
 * `…/git-receive-pack`) with `git http-backend` over the repositories under `projectRoot`.
 * Resolves when the backend has ended, also when the client is gone by then: a client killed
 * mid-request (or before its queued push's turn) ends the backend's input, so it never holds the
 * repository's push lock (./server.ts) for good.
 */
export function serveGitHttp(
  req: IncomingMessage,
  res: ServerResponse,
  projectRoot: string,
  pathname: string,
  search: string,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("git", ["http-backend"], {
      env: {
        ...testGitEnv(),
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: pathname,
        QUERY_STRING: search.replace(/^\?/, ""),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: "x-access-token",
        REMOTE_ADDR: "127.0.0.1",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.on("error", () => undefined);
    const endInput = () => {
      if (!child.stdin.writableEnded) child.stdin.end();
    };
    if (req.destroyed && !req.readableEnded) endInput();
    else {
      req.pipe(child.stdin);
      req.once("close", () => {
        if (!req.readableEnded) endInput();
      });
    }
    let head = Buffer.alloc(0);
    let status = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      if (status !== 0) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (end === undefined) return;
      status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end.index).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end.index + end.length));
    });
    child.stderr.resume();
    child.on("close", () => {
      if (status === 0) {
        status = 500;
        if (!res.headersSent) res.writeHead(500);
      }
      // Not on the end's callback: it never comes when the client's connection is gone.
      res.end();
      resolve(status);
    });
  });
}

function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf === -1 && lf === -1) return undefined;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

/** `Authorization: Basic base64(x-access-token:<token>)` (any user name) -> the token. */
export function basicToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
