// The job token over real HTTP: `git http-backend` behind a loopback server that accepts only
// `Authorization: Basic base64(x-access-token:<token>)` with a live token. Proves the token reaches
// git through the environment alone (no file under the work directory holds it in any form), that
// setup commands never see it, and that a revoked token's push is refused.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { GitError } from "../../../runner/workspace/errors.js";
import { createWorkspaces, type Workspaces } from "../../../runner/workspace/workspaces.js";
import { startGitHttpServer, type GitHttpServer } from "../../helpers/git-http-server.js";
import {
  branchHead,
  createBareRemote,
  filesContaining,
  gitSync,
  makeTempDir,
  writeFiles,
} from "../../helpers/git-repos.js";

const TOKEN = `ghs_${"A1b2C3d4E5".repeat(3)}test`;
const BRANCH = "kanbot/7-add-search";

let root: string;
let remote: string;
let workDir: string;
let server: GitHttpServer;
let workspaces: Workspaces;

beforeEach(async () => {
  root = makeTempDir("credentials");
  remote = join(root, "served", "acme", "app.git");
  workDir = join(root, "work");
  createBareRemote(remote);
  server = await startGitHttpServer(join(root, "served"), [TOKEN]);
  workspaces = createWorkspaces({
    workDir,
    gitBaseUrl: server.url,
    gitEnv: { source: { PATH: process.env.PATH, HOME: root } },
    lockRetry: { sleep: async () => undefined },
  });
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function prepare(token: string, jobId = "job-1") {
  return workspaces.prepare({
    jobId,
    taskId: "task-7",
    repo: { owner: "acme", name: "app" },
    token,
    branch: BRANCH,
    baseBranch: null,
    startFrom: "base",
    setup: {
      commands: [
        [
          process.execPath,
          "-e",
          "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))",
          join(root, "setup-env.json"),
        ],
      ],
    },
  });
}

describe("job token", () => {
  it("authenticates fetch and push through the environment only, and is written nowhere", async () => {
    const workspace = await prepare(TOKEN);
    writeFiles(workspace.path, { "src/search.ts": "export function search() {}\n" });

    const result = await workspaces.finish(workspace, { token: TOKEN, canPush: async () => true });

    expect(result.status).toBe("pushed");
    expect(branchHead(remote, BRANCH)).toBe(result.headSha);
    const served = server.requests.filter((request) => request.status === 200);
    expect(served.some((request) => request.path.endsWith("/git-upload-pack"))).toBe(true);
    expect(served.some((request) => request.path.endsWith("/git-receive-pack"))).toBe(true);
    expect(served.every((request) => request.token === TOKEN)).toBe(true);
    const forms = [
      TOKEN,
      Buffer.from(`x-access-token:${TOKEN}`).toString("base64"),
      Buffer.from(TOKEN).toString("base64"),
    ];
    expect(filesContaining(workDir, forms)).toEqual([]);
    expect(gitSync(workspace.mirrorPath, "config", "--get", "remote.origin.url")).toBe(
      `${server.url}/acme/app.git`,
    );
    expect(readFileSync(join(workspace.path, ".git"), "utf8")).toMatch(/^gitdir: /);
    const setupEnv = readFileSync(join(root, "setup-env.json"), "utf8");
    expect(forms.some((form) => setupEnv.includes(form))).toBe(false);
    expect(setupEnv).not.toContain("GIT_CONFIG_VALUE_0");
  });

  it("fails the fetch with an auth error for a token the remote does not accept", async () => {
    const prepared = prepare("ghs_not_a_valid_token_for_this_repo");

    const error = await prepared.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).kind).toBe("auth");
    expect((error as GitError).message).not.toContain("ghs_not_a_valid_token_for_this_repo");
  });

  it("cannot push once the token is revoked (the lease ended), and the branch stays as it was", async () => {
    const workspace = await prepare(TOKEN);
    writeFiles(workspace.path, { "src/search.ts": "v1\n" });
    const pushed = await workspaces.finish(workspace, { token: TOKEN, canPush: async () => true });
    writeFiles(workspace.path, { "src/search.ts": "v2\n" });
    server.revoke(TOKEN);

    const wip = workspaces.pushWorkInProgress(workspace, {
      token: TOKEN,
      canPush: async () => true,
    });

    const error = await wip.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).kind).toBe("auth");
    expect((error as GitError).message).not.toContain(TOKEN);
    expect(branchHead(remote, BRANCH)).toBe(pushed.headSha);
    expect(server.requests.at(-1)).toMatchObject({ token: TOKEN, status: 401 });
  });

  it("ignores the workstation's global git config (an insteadOf to ssh, a credential helper)", async () => {
    writeFileSync(
      join(root, ".gitconfig"),
      `[url "git@example.invalid:"]\n\tinsteadOf = ${server.url}/\n[credential]\n\thelper = store\n`,
    );

    const workspace = await prepare(TOKEN);

    expect(gitSync(workspace.path, "rev-parse", "HEAD")).toBe(branchHead(remote, "main"));
    expect(filesContaining(root, [TOKEN])).toEqual([]);
  });
});
