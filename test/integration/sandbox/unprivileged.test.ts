// The sandbox as users run it: an unprivileged user (runners are not run as root). When the tests
// run as root, the runner side (probe, sandbox, runCommand) runs as the user `kbtest` through
// runuser; otherwise as the current user. bubblewrap then needs unprivileged user namespaces, and
// this test fails, never skips, where it cannot start.
//
// Inside, a command tries to read the runner's config (its token), the runner user's HOME and the
// runner's environment through /proc, leaves a setsid process behind, and commits in its worktree
// (git must work inside). Nothing secret may reach it, the commit must land in the mirror, and
// nothing it started may be alive afterwards.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { testGitEnv } from "../../helpers/git-repos.js";
import { processesWith } from "../../helpers/processes.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const RUN_IN_SANDBOX = join(ROOT, "test/fixtures/sandbox/run-in-sandbox.ts");
const USER = "kbtest";

let dir: string | undefined;

/** Creates the unprivileged user (as root, on a fresh machine) unless it exists. */
function ensureUser(name: string): void {
  if (spawnSync("id", ["-u", name]).status === 0) return;
  execFileSync("useradd", ["--create-home", "--shell", "/bin/sh", name]);
}

afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function git(...args: string[]): string {
  return execFileSync("git", args, { env: testGitEnv(), encoding: "utf8" }).trim();
}

describe("the sandbox for an unprivileged runner user", () => {
  it("hides the runner's secrets, lets git commit in the worktree, and leaves nothing running", () => {
    const asRoot = process.getuid?.() === 0;
    const tag = randomBytes(6).toString("hex");
    const secrets = {
      token: `kbr_kbtestsecret${tag}`,
      home: `kbtestsecret-home-${tag}`,
      env: `kbtestsecret-env-${tag}`,
    };
    const marker = `kbunpriv-${tag}`;
    dir = mkdtempSync(join(tmpdir(), "kanbot-sandbox-user-"));
    const configFile = join(dir, "runner", "kanbot-runner.yml");
    const workDir = join(dir, "runner", "work");
    const mirror = join(workDir, "mirrors", "acme", "app.git");
    const worktree = join(workDir, "worktrees", "1");
    const home = join(dir, "home");
    mkdirSync(home, { recursive: true });
    mkdirSync(join(workDir, "mirrors", "acme"), { recursive: true });
    writeFileSync(configFile, `appUrl: http://127.0.0.1:9\ntoken: ${secrets.token}\n`);
    writeFileSync(join(home, "secret.txt"), `${secrets.home}\n`);
    git("init", "--quiet", "--bare", "--initial-branch=main", mirror);
    const seed = join(dir, "seed");
    git("init", "--quiet", "--initial-branch=main", seed);
    writeFileSync(join(seed, "README.md"), "# app\n");
    git("-C", seed, "add", "README.md");
    git("-C", seed, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init");
    git("-C", seed, "push", "--quiet", mirror, "main:refs/heads/main");
    git("--git-dir", mirror, "worktree", "add", "--quiet", "-B", "kanbot/1-x", worktree, "main");
    const script = [
      `cat ${configFile}`,
      `cat ${join(home, "secret.txt")}`,
      "for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$e\"; done 2>/dev/null | grep kbtestsecret",
      `(setsid sh -c "sleep 600; : ${marker}" > /dev/null 2>&1 &)`,
      "echo change > change.txt",
      "git add change.txt && git commit -qm 'made in the sandbox' && echo COMMITTED",
      "sleep 1",
      "true",
    ].join("\n");
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ workDir, configFile, worktree, mirror, script, marker }));
    if (asRoot) {
      ensureUser(USER);
      execFileSync("chown", ["-R", `${USER}:${USER}`, dir]);
    }
    const env = [
      `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`,
      `HOME=${home}`,
      `KANBOT_TEST_RUNNER_SECRET=${secrets.env}`,
    ];
    const command = [
      "env",
      "-i",
      ...env,
      process.execPath,
      "--import",
      "tsx",
      RUN_IN_SANDBOX,
      spec,
    ];

    const run = asRoot
      ? spawnSync("runuser", ["-u", USER, "--", ...command], { cwd: ROOT, encoding: "utf8" })
      : spawnSync(command[0] as string, command.slice(1), { cwd: ROOT, encoding: "utf8" });

    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as {
      uid: number;
      probe: { kind: string; reason?: string };
      exitCode: number;
      stdout: string;
      stderr: string;
    };
    if (asRoot) expect(result.uid).not.toBe(0);
    expect(result.probe, "bubblewrap must start for an unprivileged user").toMatchObject({
      kind: "bwrap",
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("COMMITTED");
    for (const [name, secret] of Object.entries(secrets)) {
      expect(result.stdout.includes(secret), `the command saw the ${name} secret`).toBe(false);
      expect(result.stderr.includes(secret), `the command saw the ${name} secret`).toBe(false);
    }
    expect(git("--git-dir", mirror, "log", "-1", "--format=%s", "kanbot/1-x")).toBe(
      "made in the sandbox",
    );
    expect(processesWith(marker)).toEqual([]);
  });
});
