import { describe, expect, it } from "vitest";

import { GitError } from "../../../runner/workspace/errors.js";
import {
  classifyGitFailure,
  gitAuthEnv,
  gitEnv,
  retryOnLock,
} from "../../../runner/workspace/git.js";
import { mirrorConfigText, parseWorktreeList } from "../../../runner/workspace/mirror.js";
import { trailerLines } from "../../../runner/workspace/commit.js";

describe("gitEnv", () => {
  it("is built from nothing: no token, no runner variables, no prompts, no user config", () => {
    const source = {
      PATH: "/usr/bin",
      HOME: "/home/me",
      GITHUB_TOKEN: "ghs_secret",
      GIT_DIR: "/elsewhere",
      GIT_CONFIG_COUNT: "1",
      HTTPS_PROXY: "http://proxy:3128",
    };

    const env = gitEnv({ source });

    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/me",
      HTTPS_PROXY: "http://proxy:3128",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: "",
      SSH_ASKPASS: "",
      GCM_INTERACTIVE: "never",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_NO_REPLACE_OBJECTS: "1",
      GIT_GRAFT_FILE: "/dev/null/grafts",
    });
  });
});

describe("gitAuthEnv", () => {
  it("sends the token as a basic Authorization header scoped to the repository URL", () => {
    const env = gitAuthEnv("ghs_abc123", "https://github.com/acme/app.git");

    expect(env.GIT_CONFIG_COUNT).toBe("1");
    expect(env.GIT_CONFIG_KEY_0).toBe("http.https://github.com/acme/app.git.extraHeader");
    const header = env.GIT_CONFIG_VALUE_0 ?? "";
    expect(header.startsWith("Authorization: Basic ")).toBe(true);
    const decoded = Buffer.from(header.slice("Authorization: Basic ".length), "base64").toString();
    expect(decoded).toBe("x-access-token:ghs_abc123");
  });
});

describe("classifyGitFailure", () => {
  it.each([
    ["fatal: Authentication failed for 'https://x/'", "auth"],
    ["fatal: could not read Username for 'http://127.0.0.1': terminal prompts disabled", "auth"],
    ["error: RPC failed; HTTP 403 curl 22 The requested URL returned error: 403", "auth"],
    [" ! [rejected]        abc -> kanbot/1-x (stale info)", "rejected"],
    ["error: failed to push some refs to 'x'", "rejected"],
    ["remote: Repository not found.", "not-found"],
    ["fatal: couldn't find remote ref refs/heads/nope", "not-found"],
    [
      "fatal: Unable to create '/w/.git/worktrees/a/index.lock': File exists.\n\nAnother git process seems to be running",
      "lock",
    ],
    ["error: could not lock config file config: File exists", "lock"],
    ["fatal: cannot remove a locked working tree", "lock"],
    ["fatal: bad object HEAD", "other"],
  ])("%j is %s", (stderr, kind) => {
    expect(classifyGitFailure(stderr)).toBe(kind);
  });
});

describe("retryOnLock", () => {
  function lockError(): GitError {
    return new GitError({
      cmd: "git commit",
      exitCode: 128,
      stderr: "index.lock': File exists",
      kind: "lock",
    });
  }

  it("retries while a lock is held, then returns", async () => {
    let calls = 0;
    const delays: number[] = [];

    const result = await retryOnLock(
      async () => {
        calls += 1;
        if (calls < 3) throw lockError();
        return "done";
      },
      { attempts: 5, baseDelayMs: 100, sleep: async (ms) => void delays.push(ms) },
    );

    expect(result).toBe("done");
    expect(calls).toBe(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
  });

  it("gives up after the last attempt with the lock error", async () => {
    let calls = 0;

    const run = retryOnLock(
      async () => {
        calls += 1;
        throw lockError();
      },
      { attempts: 3, baseDelayMs: 1, sleep: async () => undefined },
    );

    await expect(run).rejects.toMatchObject({ name: "GitError", kind: "lock" });
    expect(calls).toBe(3);
  });

  it("does not retry other failures", async () => {
    let calls = 0;

    const run = retryOnLock(
      async () => {
        calls += 1;
        throw new GitError({
          cmd: "git push",
          exitCode: 1,
          stderr: "[rejected]",
          kind: "rejected",
        });
      },
      { attempts: 3, baseDelayMs: 1, sleep: async () => undefined },
    );

    await expect(run).rejects.toMatchObject({ kind: "rejected" });
    expect(calls).toBe(1);
  });
});

describe("GitError", () => {
  it("keeps the command, exit code and stderr, and says what to do about auth", () => {
    const error = new GitError({
      cmd: "git fetch --prune origin",
      exitCode: 128,
      stderr: "fatal: Authentication failed",
      kind: "auth",
    });

    expect(error.cmd).toBe("git fetch --prune origin");
    expect(error.exitCode).toBe(128);
    expect(error.message).toContain("token is missing, expired or revoked");
  });
});

describe("mirrorConfigText", () => {
  it("names origin without credentials and fetches branches to refs/remotes/origin", () => {
    const text = mirrorConfigText("https://github.com/acme/app.git");

    expect(text).toContain('url = "https://github.com/acme/app.git"');
    expect(text).toContain("fetch = +refs/heads/*:refs/remotes/origin/*");
    expect(text).toContain("bare = true");
  });
});

describe("parseWorktreeList", () => {
  it("reads paths, branches and flags", () => {
    const text = [
      "worktree /w/mirrors/a/b.git",
      "bare",
      "",
      "worktree /w/worktrees/job-1",
      "HEAD 1111111111111111111111111111111111111111",
      "branch refs/heads/kanbot/1-x",
      "",
      "worktree /w/worktrees/job-2",
      "HEAD 2222222222222222222222222222222222222222",
      "detached",
      "locked initializing",
      "prunable gitdir file points to non-existent location",
      "",
    ].join("\n");

    const entries = parseWorktreeList(text);

    expect(entries).toEqual([
      {
        path: "/w/mirrors/a/b.git",
        head: null,
        branch: null,
        bare: true,
        locked: false,
        prunable: false,
      },
      {
        path: "/w/worktrees/job-1",
        head: "1111111111111111111111111111111111111111",
        branch: "refs/heads/kanbot/1-x",
        bare: false,
        locked: false,
        prunable: false,
      },
      {
        path: "/w/worktrees/job-2",
        head: "2222222222222222222222222222222222222222",
        branch: null,
        bare: false,
        locked: true,
        prunable: true,
      },
    ]);
  });
});

describe("trailerLines", () => {
  it("names task and job, and marks work in progress", () => {
    expect(trailerLines({ taskId: "t1", jobId: "j1" })).toEqual([
      "Kanbot-Task: t1",
      "Kanbot-Job: j1",
    ]);
    expect(trailerLines({ taskId: "t1", jobId: "j1", wip: true })).toEqual([
      "Kanbot-Task: t1",
      "Kanbot-Job: j1",
      "Kanbot-WIP: true",
    ]);
  });
});
