// A hostile agent against the runner's git, with real git in temporary folders. The agent is a
// script run in the worktree with an ordinary git environment, as an agent's shell would be: it
// commits a forbidden path and then makes git show something harmless (a replace ref in the
// worktree or in the mirror, a graft, a merge of an old ancestor, a loose object rewritten under
// another name) or plants a clean filter for the runner's own `git add`. Each test first shows
// that plain git IS fooled, then that finish() is not and that nothing reaches the remote.
// The token tests trace every git process the runner starts (strace -f on a `git` wrapper) and
// read their argv and environment as the kernel saw them.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { changedPathsSince } from "../../../runner/workspace/commit.js";
import { ForbiddenPathsError, WorkspaceError } from "../../../runner/workspace/errors.js";
import { DEFAULT_LOCK_RETRY, gitEnv } from "../../../runner/workspace/git.js";
import type { GitContext } from "../../../runner/workspace/mirror.js";
import {
  createWorkspaces,
  type PrepareOptions,
  type Workspace,
  type Workspaces,
} from "../../../runner/workspace/workspaces.js";
import { startGitHttpServer, type GitHttpServer } from "../../helpers/git-http-server.js";
import {
  branchHead,
  createBareRemote,
  filesContaining,
  gitSync,
  makeTempDir,
  testGitEnv,
  writeFiles,
} from "../../helpers/git-repos.js";

const BRANCH = "kanbot/11-harden";
const FORBIDDEN = ["secrets/**", ".github/workflows/**"];

let root: string;
let remote: string;
let workDir: string;
let workspaces: Workspaces;

function prepareOptions(overrides: Partial<PrepareOptions> = {}): PrepareOptions {
  return {
    jobId: "job-1",
    taskId: "task-11",
    repo: { owner: "acme", name: "app", cloneUrl: remote },
    token: undefined,
    branch: BRANCH,
    baseBranch: "main",
    startFrom: "base",
    ...overrides,
  };
}

/** Runs `script` with sh in the worktree, as the agent: the test's plain git environment. */
function runAgent(workspace: Workspace, script: string, env: Record<string, string> = {}): void {
  execFileSync("sh", ["-c", `set -e\n${script}`], {
    cwd: workspace.path,
    env: { ...testGitEnv(), ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** What plain git (replace refs and grafts honoured) says the branch changes since the base. */
function plainGitChanges(workspace: Workspace): string[] {
  const head = gitSync(workspace.mirrorPath, "rev-parse", `refs/heads/${BRANCH}`);
  const mergeBase = gitSync(workspace.mirrorPath, "merge-base", workspace.baseSha, head);
  const diff = gitSync(workspace.mirrorPath, "diff", "--name-only", mergeBase, head);
  return diff.split("\n").filter((line) => line !== "");
}

function replaceRefs(mirror: string): string {
  return gitSync(mirror, "for-each-ref", "--format=%(refname)", "refs/replace/");
}

const leaseHeld = async (): Promise<boolean> => true;

/** The agent's first step in every trick: a commit that adds a forbidden file. */
const COMMIT_SECRET = `
mkdir -p secrets
echo "-----BEGIN PRIVATE KEY-----" > secrets/key.txt
git add secrets/key.txt
git commit -q -m "add a key"
`;

beforeEach(() => {
  root = makeTempDir("git-hardening");
  remote = join(root, "remote", "acme", "app.git");
  workDir = join(root, "work");
  createBareRemote(remote);
  workspaces = createWorkspaces({
    workDir,
    gitEnv: { source: { PATH: process.env.PATH, HOME: root } },
    lockRetry: { sleep: async () => undefined },
  });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("the forbidden-path check on what is pushed", () => {
  it("is not fooled by a replace ref made in the worktree, and removes it from the mirror", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    runAgent(
      workspace,
      `${COMMIT_SECRET}
      fake=$(git commit-tree "HEAD^^{tree}" -p HEAD^ -m "a harmless commit")
      git replace HEAD "$fake"`,
    );
    expect(plainGitChanges(workspace)).toEqual([]);
    expect(replaceRefs(workspace.mirrorPath)).not.toBe("");

    const finished = workspaces.finish(workspace, {
      token: undefined,
      forbiddenPaths: FORBIDDEN,
      canPush: leaseHeld,
    });

    const error = await finished.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForbiddenPathsError);
    expect((error as ForbiddenPathsError).paths).toEqual(["secrets/key.txt"]);
    expect(branchHead(remote, BRANCH)).toBeNull();
    expect(replaceRefs(workspace.mirrorPath)).toBe("");
    expect(plainGitChanges(workspace)).toEqual(["secrets/key.txt"]);
  });

  it("is not fooled by a replace ref of the base made in the mirror, nor is a later job", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    // The base is replaced by a commit whose tree already holds the key: the branch adds nothing.
    runAgent(
      workspace,
      `${COMMIT_SECRET}
      mirror=$(git rev-parse --git-common-dir)
      base=$(git rev-parse HEAD^)
      fake=$(git commit-tree "HEAD^{tree}" -m "the base, as the agent would like it")
      git --git-dir "$mirror" replace "$base" "$fake"`,
    );
    expect(plainGitChanges(workspace)).toEqual([]);

    const error = await workspaces
      .finish(workspace, { token: undefined, forbiddenPaths: FORBIDDEN, canPush: leaseHeld })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ForbiddenPathsError);
    expect(branchHead(remote, BRANCH)).toBeNull();
    expect(replaceRefs(workspace.mirrorPath)).toBe("");
    await workspaces.release(workspace, "failed");

    // A later job on the same mirror: the agent plants the same replace ref before it starts
    // (as a process left behind could), and the job's own change is innocent.
    const base = workspace.baseSha;
    const fake = gitSync(
      workspace.mirrorPath,
      "commit-tree",
      gitSync(workspace.mirrorPath, "rev-parse", `refs/heads/${BRANCH}^{tree}`),
      "-m",
      "planted",
    );
    gitSync(workspace.mirrorPath, "replace", base, fake);
    const later = await workspaces.prepare(
      prepareOptions({ jobId: "job-2", branch: "kanbot/12-docs" }),
    );
    expect(replaceRefs(later.mirrorPath)).toBe("");
    writeFiles(later.path, { "docs/usage.md": "# usage\n" });
    const pushed = await workspaces.finish(later, {
      token: undefined,
      forbiddenPaths: FORBIDDEN,
      canPush: leaseHeld,
    });
    expect(pushed.status).toBe("pushed");
    expect(pushed.changedPaths).toEqual(["docs/usage.md"]);
  });

  it("is not fooled by grafts, and removes the graft file", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    // Both the base and the head get a made-up parent holding the head's tree: it becomes the
    // merge base, and the branch seems to change nothing.
    runAgent(
      workspace,
      `${COMMIT_SECRET}
      common=$(git rev-parse --git-common-dir)
      z=$(git commit-tree "HEAD^{tree}" -m "made-up ancestor")
      mkdir -p "$common/info"
      printf '%s %s\\n%s %s\\n' "$(git rev-parse HEAD^)" "$z" "$(git rev-parse HEAD)" "$z" > "$common/info/grafts"`,
    );
    expect(plainGitChanges(workspace)).toEqual([]);

    const error = await workspaces
      .finish(workspace, { token: undefined, forbiddenPaths: FORBIDDEN, canPush: leaseHeld })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ForbiddenPathsError);
    expect((error as ForbiddenPathsError).paths).toEqual(["secrets/key.txt"]);
    expect(branchHead(remote, BRANCH)).toBeNull();
    expect(existsSync(join(workspace.mirrorPath, "info", "grafts"))).toBe(false);
    expect(plainGitChanges(workspace)).toEqual(["secrets/key.txt"]);
  });

  it("is not fooled by a head that merges an old ancestor of the base to restore a removed workflow", async () => {
    const ancestor = commitFilesToMain({ ".github/workflows/deploy.yml": "on: push\n" });
    removeFromMain(".github/workflows/deploy.yml");
    const workspace = await workspaces.prepare(prepareOptions());
    // No replace ref, no graft: history alone. The head's parents are the old commit and an
    // orphan, so the old commit is the merge base and the restored file looks unchanged.
    runAgent(
      workspace,
      `git checkout -q "$ANCESTOR" -- .github/workflows/deploy.yml
      tree=$(git write-tree)
      orphan=$(git commit-tree "$tree" -m "orphan")
      head=$(git commit-tree "$tree" -p "$ANCESTOR" -p "$orphan" -m "merge")
      git reset -q --hard "$head"`,
      { ANCESTOR: ancestor },
    );
    expect(plainGitChanges(workspace)).toEqual([]);

    const error = await workspaces
      .finish(workspace, { token: undefined, forbiddenPaths: FORBIDDEN, canPush: leaseHeld })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ForbiddenPathsError);
    expect((error as ForbiddenPathsError).paths).toEqual([".github/workflows/deploy.yml"]);
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("refuses to push when an object in the mirror was rewritten under another object's name", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    runAgent(workspace, COMMIT_SECRET);
    // The tree of the new folder, a loose object, is overwritten with an empty tree: same name,
    // other bytes. Git checks the hash of a commit's root tree when it parses it, not of the
    // trees below, so plain git sees a branch that adds nothing.
    const secretsTree = gitSync(workspace.path, "rev-parse", "HEAD:secrets");
    const loose = join(
      workspace.mirrorPath,
      "objects",
      secretsTree.slice(0, 2),
      secretsTree.slice(2),
    );
    chmodSync(loose, 0o644);
    writeFileSync(loose, deflateSync(Buffer.from("tree 0\0")));
    // …and leaves nothing uncommitted that would make the runner commit again.
    runAgent(workspace, "git update-index --force-remove secrets/key.txt\nrm -r secrets");
    expect(plainGitChanges(workspace)).toEqual([]);

    const error = await workspaces
      .finish(workspace, { token: undefined, forbiddenPaths: FORBIDDEN, canPush: leaseHeld })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as WorkspaceError).message).toContain(`object ${secretsTree}`);
    expect((error as WorkspaceError).message).toContain("nothing was pushed");
    expect(branchHead(remote, BRANCH)).toBeNull();
  });

  it("runs no filter the agent configured, and ignores a .git file it pointed elsewhere", async () => {
    const workspace = await workspaces.prepare(prepareOptions());
    const marker = join(root, "filter-ran");
    const filter = join(root, "filter.sh");
    writeFileSync(filter, `#!/bin/sh\ntouch '${marker}'\ncat\n`, { mode: 0o755 });
    const elsewhere = join(root, "elsewhere");
    gitSync(root, "init", "--quiet", elsewhere);
    gitSync(elsewhere, "config", "filter.evil.clean", filter);
    // The filter goes into the mirror's config (a worktree's `git config` writes there) and into
    // the repository the worktree's .git file now names; the change itself is harmless.
    runAgent(
      workspace,
      `git config filter.evil.clean "$FILTER"
      echo "* filter=evil" > .gitattributes
      echo "export const b = 2;" > src/b.ts
      echo "gitdir: $ELSEWHERE/.git" > .git`,
      { FILTER: filter, ELSEWHERE: elsewhere },
    );

    const result = await workspaces.finish(workspace, {
      token: undefined,
      forbiddenPaths: FORBIDDEN,
      canPush: leaseHeld,
    });

    expect(existsSync(marker)).toBe(false);
    expect(result.status).toBe("pushed");
    expect(branchHead(remote, BRANCH)).toBe(result.headSha);
    expect(gitSync(remote, "show", `${result.headSha}:src/b.ts`)).toBe("export const b = 2;");
    expect(readFileSync(join(workspace.mirrorPath, "config"), "utf8")).not.toContain("filter");
  });
});

describe("the runner's git environment on its own", () => {
  // Without the removal finish() does first: replace refs and grafts are in place, and the
  // runner's git (gitEnv, HARDENING_FLAGS) must still see the real history.
  function plantedRepo(): { gitDir: string; base: string; head: string } {
    const repo = join(root, "plain");
    gitSync(root, "init", "--quiet", "--initial-branch=main", repo);
    writeFiles(repo, { "README.md": "# app\n" });
    gitSync(repo, "add", "--all");
    gitSync(repo, "commit", "--quiet", "-m", "base");
    const base = gitSync(repo, "rev-parse", "HEAD");
    writeFiles(repo, { "secrets/key.txt": "key\n" });
    gitSync(repo, "add", "--all");
    gitSync(repo, "commit", "--quiet", "-m", "add a key");
    return { gitDir: join(repo, ".git"), base, head: gitSync(repo, "rev-parse", "HEAD") };
  }

  const context = (): GitContext => ({
    env: gitEnv({ source: { PATH: process.env.PATH, HOME: root } }),
    lockRetry: { ...DEFAULT_LOCK_RETRY, sleep: async () => undefined },
    networkTimeoutMs: 60_000,
    log: pino({ level: "silent" }),
  });

  it("ignores a replace ref", async () => {
    const { gitDir, base, head } = plantedRepo();
    const fake = gitSync(gitDir, "commit-tree", `${base}^{tree}`, "-p", base, "-m", "harmless");
    gitSync(gitDir, "replace", head, fake);
    expect(gitSync(gitDir, "diff", "--name-only", base, head)).toBe("");

    const paths = await changedPathsSince(context(), gitDir, base, head);

    expect(paths).toEqual(["secrets/key.txt"]);
  });

  it("ignores grafts", async () => {
    const { gitDir, base, head } = plantedRepo();
    const z = gitSync(gitDir, "commit-tree", `${head}^{tree}`, "-m", "made-up ancestor");
    writeFileSync(join(gitDir, "info", "grafts"), `${base} ${z}\n${head} ${z}\n`);
    expect(gitSync(gitDir, "merge-base", base, head)).toBe(z);

    const paths = await changedPathsSince(context(), gitDir, base, head);

    expect(paths).toEqual(["secrets/key.txt"]);
  });
});

/** Commits `files` on the remote's main; returns the commit. */
function commitFilesToMain(files: Record<string, string>): string {
  return inScratchClone((scratch) => {
    writeFiles(scratch, files);
    gitSync(scratch, "add", "--all");
    gitSync(scratch, "commit", "--quiet", "-m", "add files");
  });
}

/** Deletes `path` on the remote's main; returns the commit. */
function removeFromMain(path: string): string {
  return inScratchClone((scratch) => {
    gitSync(scratch, "rm", "--quiet", "--", path);
    gitSync(scratch, "commit", "--quiet", "-m", `remove ${path}`);
  });
}

function inScratchClone(change: (scratch: string) => void): string {
  const scratch = makeTempDir("scratch");
  try {
    gitSync(scratch, "clone", "--quiet", remote, ".");
    change(scratch);
    gitSync(scratch, "push", "--quiet", "origin", "HEAD:refs/heads/main");
    return gitSync(scratch, "rev-parse", "HEAD");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe("the job token", () => {
  const TOKEN = `ghs_${"Q7w8E9r0T1".repeat(3)}hard`;
  const forms = [
    TOKEN,
    Buffer.from(`x-access-token:${TOKEN}`).toString("base64"),
    Buffer.from(TOKEN).toString("base64"),
    encodeURIComponent(TOKEN),
  ];
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  let server: GitHttpServer;
  let traces: string;

  beforeEach(async () => {
    remote = join(root, "served", "acme", "app.git");
    createBareRemote(remote);
    server = await startGitHttpServer(join(root, "served"), [TOKEN]);
    // Outside `root`: the traces hold the environments, token included, on purpose.
    traces = makeTempDir("git-traces");
    const bin = join(traces, "bin");
    mkdirSync(bin);
    // Every git the runner starts goes through strace: each process's argv and environment as
    // the kernel saw them at execve, for the command and everything it starts.
    writeFileSync(
      join(bin, "git"),
      [
        "#!/bin/sh",
        `session=$(mktemp -d '${traces}/session.XXXXXX')`,
        'printf "%s\\0" "$@" > "$session/argv"',
        `exec strace -f -ff -qq -v -s 100000 -e trace=execve -o "$session/trace" '${realGit}' "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    workspaces = createWorkspaces({
      workDir,
      gitBaseUrl: server.url,
      gitEnv: { source: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: root } },
      lockRetry: { sleep: async () => undefined },
    });
  });

  afterEach(async () => {
    await server.close();
    rmSync(traces, { recursive: true, force: true });
  });

  it("reaches git only in the environment of fetch, ls-remote and push: in no argv and no file", async () => {
    const calls: string[] = [];
    const beforeTokenGit = (): void => {
      calls.push(`hook after ${server.requests.length} requests`);
    };
    const workspace = await workspaces.prepare(
      prepareOptions({
        repo: { owner: "acme", name: "app" },
        token: TOKEN,
        baseBranch: null,
        beforeTokenGit,
      }),
    );
    writeFiles(workspace.path, { "src/search.ts": "export function search() {}\n" });

    const result = await workspaces.finish(workspace, {
      token: TOKEN,
      forbiddenPaths: FORBIDDEN,
      canPush: leaseHeld,
      beforeTokenGit,
    });

    expect(result.status).toBe("pushed");
    expect(branchHead(remote, BRANCH)).toBe(result.headSha);
    expect(filesContaining(root, forms)).toEqual([]);
    const sessions = readSessions(traces);
    // The trace sees git's children too (remote-http is where the header is used).
    const programs = sessions.flatMap((session) => session.execs.map((exec) => exec.argv[0]));
    expect(programs.some((program) => program?.includes("remote-http"))).toBe(true);
    const argvWithToken = sessions
      .flatMap((session) => session.execs)
      .filter((exec) => exec.argv.some((arg) => forms.some((form) => arg.includes(form))));
    expect(argvWithToken).toEqual([]);
    const withToken = sessions
      .filter((session) =>
        session.execs.some((exec) =>
          exec.env.some((entry) => forms.some((form) => entry.includes(form))),
        ),
      )
      .map((session) => subcommand(session.argv));
    expect(withToken).toEqual(["ls-remote", "fetch", "push"]);
    expect(sessions.length).toBeGreaterThan(withToken.length);
    // Every token-carrying command was preceded by the hook (three hooks, three commands).
    expect(calls).toHaveLength(3);
  });

  it("runs no fetch or push when beforeTokenGit refuses (a process of the job is still alive)", async () => {
    const alive = new Error("a process of job-1 is still alive");
    const refused = await workspaces
      .prepare(
        prepareOptions({
          repo: { owner: "acme", name: "app" },
          token: TOKEN,
          beforeTokenGit: () => {
            throw alive;
          },
        }),
      )
      .catch((caught: unknown) => caught);
    expect(refused).toBe(alive);
    expect(server.requests).toEqual([]);

    const workspace = await workspaces.prepare(
      prepareOptions({ repo: { owner: "acme", name: "app" }, token: TOKEN }),
    );
    writeFiles(workspace.path, { "src/search.ts": "v1\n" });
    const requestsBefore = server.requests.length;

    const push = await workspaces
      .finish(workspace, {
        token: TOKEN,
        forbiddenPaths: FORBIDDEN,
        canPush: leaseHeld,
        beforeTokenGit: async () => {
          throw alive;
        },
      })
      .catch((caught: unknown) => caught);

    expect(push).toBe(alive);
    expect(server.requests.length).toBe(requestsBefore);
    expect(branchHead(remote, BRANCH)).toBeNull();
  });
});

interface TracedExec {
  argv: string[];
  env: string[];
}

interface Session {
  /** The arguments the runner gave git. */
  argv: string[];
  execs: TracedExec[];
}

function readSessions(dir: string): Session[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith("session."))
    .map((name) => join(dir, name))
    .map((session) => ({
      argv: readFileSync(join(session, "argv"), "utf8").split("\0").slice(0, -1),
      execs: readdirSync(session)
        .filter((name) => name.startsWith("trace"))
        .flatMap((name) => readFileSync(join(session, name), "utf8").split("\n"))
        .map(parseExecve)
        .filter((exec): exec is TracedExec => exec !== undefined),
    }))
    .sort((a, b) => sessionOrder(a) - sessionOrder(b));
}

/** The order the runner ran its commands in: ls-remote, fetch, … push. */
function sessionOrder(session: Session): number {
  const order = ["ls-remote", "fetch", "push"];
  const index = order.indexOf(subcommand(session.argv));
  return index < 0 ? order.length : index;
}

/** The git subcommand of the runner's argv (after the global flags). */
function subcommand(argv: readonly string[]): string {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === "-c" || arg === "--git-dir") index++;
    else if (!arg.startsWith("-")) return arg;
  }
  return "";
}

/** `execve("path", ["argv", …], ["ENV=…", …]) = 0` as strace -v prints it, or undefined. */
function parseExecve(line: string): TracedExec | undefined {
  const start = line.indexOf("execve(");
  if (start < 0 || !/= 0$/.test(line)) return undefined;
  let position = start + "execve(".length;
  const strings: string[][] = [];
  let current: string[] | undefined;
  while (position < line.length && strings.length < 2) {
    const char = line[position];
    if (char === "[") current = [];
    else if (char === "]" && current !== undefined) {
      strings.push(current);
      current = undefined;
    } else if (char === '"') {
      let end = position + 1;
      while (end < line.length && line[end] !== '"') end += line[end] === "\\" ? 2 : 1;
      current?.push(line.slice(position + 1, end));
      position = end;
    }
    position++;
  }
  const [argv, env] = strings;
  return argv === undefined || env === undefined ? undefined : { argv, env };
}
