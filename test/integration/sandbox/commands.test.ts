// run-command with a job sandbox (real bubblewrap): what runs inside keeps its grace period on a
// stop, nothing it starts survives it, the network setting holds, a missing program is reported
// as before, and the view is the one planned (worktree writable, system read-only, private HOME
// and /tmp, the runner's work directory hidden).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SpawnError } from "../../../runner/process/errors.js";
import { runCommand, type RunResult } from "../../../runner/process/run-command.js";
import { createSandbox, probeSandboxNow, type JobSandbox } from "../../../runner/sandbox/index.js";
import { processesWith } from "../../helpers/processes.js";

let dir: string;
let job: JobSandbox | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kanbot-sandbox-cmd-"));
});

afterEach(async () => {
  await job?.dispose();
  job = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A job sandbox on a work directory in `dir`, as the runner makes one. */
async function jobSandbox(network = true): Promise<{ sandbox: JobSandbox; worktree: string }> {
  const probe = await probeSandboxNow({ mode: "bwrap", network, pathEnv: process.env.PATH ?? "" });
  if (probe.kind !== "bwrap")
    throw new Error(`bubblewrap must start here: ${JSON.stringify(probe)}`);
  const workDir = join(dir, "work");
  const worktree = join(workDir, "worktrees", "7");
  mkdirSync(worktree, { recursive: true });
  writeFileSync(join(dir, "kanbot-runner.yml"), "token: kbr_kbtestsecret\n");
  writeFileSync(join(workDir, "secret-record.json"), "kbtestsecret-record\n");
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, ".netrc"), "kbtestsecret-netrc\n");
  const sandbox = createSandbox({
    state: probe,
    workDir,
    configFile: join(dir, "kanbot-runner.yml"),
    home,
  });
  job = await sandbox.forJob({
    jobId: "7",
    taskId: "3",
    agentKind: "claude",
    worktree,
    mirror: join(workDir, "mirrors", "acme", "app.git"),
  });
  return { sandbox: job, worktree };
}

async function run(
  sandbox: JobSandbox,
  worktree: string,
  script: string,
  options: { signal?: AbortSignal; timeoutMs?: number; graceMs?: number; marker?: string } = {},
): Promise<RunResult & { stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const result = await runCommand({
    command: "sh",
    args: ["-c", script],
    cwd: worktree,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: join(dir, "home"),
      KANBOT_JOB_ID: options.marker ?? "7.test",
    },
    limits: { timeoutMs: options.timeoutMs ?? 30_000, graceMs: options.graceMs ?? 2_000 },
    sandbox: sandbox.commands,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    onLine: (line, stream) => {
      if (stream === "stdout") stdout += `${line}\n`;
      else stderr += `${line}\n`;
    },
  });
  return { ...result, stdout, stderr };
}

describe("commands in the sandbox", () => {
  it("see the worktree writable, the system read-only, a private HOME and /tmp, no runner files", async () => {
    const { sandbox, worktree } = await jobSandbox();

    const result = await run(
      sandbox,
      worktree,
      [
        "echo made > made.txt && echo worktree-writable",
        "touch /usr/kanbot-test 2>/dev/null || echo system-read-only",
        'echo "home=$HOME tmp=$TMPDIR"',
        "touch ~/x && echo home-writable; ls -A ~",
        `cat ${join(dir, "home", ".netrc")} ${join(dir, "kanbot-runner.yml")} ${join(dir, "work", "secret-record.json")} 2>&1`,
        "ls /tmp",
        "ls /proc | grep -c '^[0-9]'",
      ].join("; "),
    );

    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(join(worktree, "made.txt"), "utf8")).toBe("made\n");
    expect(result.stdout).toContain("worktree-writable");
    expect(result.stdout).toContain("system-read-only");
    expect(result.stdout).toContain(`home=${join(dir, "home")} tmp=/tmp`);
    expect(result.stdout).toContain("home-writable");
    // The agent's state folder for the task is there (claude: ~/.claude), nothing of the real HOME.
    expect(result.stdout).toMatch(/^\.claude$/m);
    expect(result.stdout).not.toContain("kbtestsecret");
    // The runner's real HOME file is untouched; the private one got the new file.
    expect(readdirSync(join(dir, "home"))).toEqual([".netrc"]);
  });

  it("kills what the command left behind when it exits: background, nohup, setsid double fork", async () => {
    const { sandbox, worktree } = await jobSandbox();
    const marker = `kbleft-${randomBytes(5).toString("hex")}`;

    const result = await run(
      sandbox,
      worktree,
      [
        `sh -c "sleep 600; : ${marker}" &`,
        `nohup sh -c "sleep 601; : ${marker}" > /dev/null 2>&1 &`,
        `(setsid env -i sh -c "sleep 602; : ${marker}" > /dev/null 2>&1 &)`,
        `while [ "$(ps -e -o args 2>/dev/null | grep -c '${marker}')" -lt 3 ]; do sleep 0.05; done`,
        "echo left",
      ].join("\n"),
    );

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("left");
    expect(processesWith(marker)).toEqual([]);
  });

  it("gives a canceled command its SIGTERM and grace period; what ignores SIGTERM dies with it", async () => {
    const { sandbox, worktree } = await jobSandbox();
    const marker = `kbterm-${randomBytes(5).toString("hex")}`;
    const stop = new AbortController();

    const running = run(
      sandbox,
      worktree,
      [
        `sh -c "trap '' TERM; sleep 600; : ${marker}" &`,
        "trap 'echo got SIGTERM; sleep 0.2; echo cleaned up; exit 0' TERM",
        "touch started",
        "while true; do sleep 0.1; done",
      ].join("\n"),
      { signal: stop.signal, graceMs: 1_500 },
    );
    while (!readdirSync(worktree).includes("started")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop.abort();
    const result = await running;

    expect(result.reason).toBe("canceled");
    expect(result.stdout).toContain("got SIGTERM");
    expect(result.stdout).toContain("cleaned up");
    expect(processesWith(marker)).toEqual([]);
  });

  it("kills a canceled command that ignores SIGTERM once the grace period is over", async () => {
    const { sandbox, worktree } = await jobSandbox();
    const marker = `kbdeaf-${randomBytes(5).toString("hex")}`;
    const stop = new AbortController();

    const running = run(
      sandbox,
      worktree,
      `trap '' TERM; touch started; sh -c "sleep 600; : ${marker}"`,
      { signal: stop.signal, graceMs: 500 },
    );
    while (!readdirSync(worktree).includes("started")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop.abort();
    const result = await running;

    expect(result.reason).toBe("canceled");
    expect(result.signal).toBe("SIGKILL");
    expect(processesWith(marker)).toEqual([]);
  });

  it("keeps the machine's network by default, and only a loopback of its own without it", async () => {
    const server: Server = createServer((socket) => socket.end("hello from the host\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const probe = `node -e "require('net').connect(${port}, '127.0.0.1').on('data', (d) => { process.stdout.write(String(d)); process.exit(0); }).on('error', (e) => { console.log('no network: ' + e.code); process.exit(0); })"`;
    try {
      const on = await jobSandbox(true);
      const reached = await run(on.sandbox, on.worktree, probe);
      await job?.dispose();

      const off = await jobSandbox(false);
      const cut = await run(off.sandbox, off.worktree, probe);

      expect(reached.stdout).toContain("hello from the host");
      expect(cut.stdout).toContain("no network: ECONNREFUSED");
    } finally {
      server.close();
    }
  });

  it("reports a program that is not there as before: a SpawnError with ENOENT", async () => {
    const { sandbox, worktree } = await jobSandbox();

    const attempt = runCommand({
      command: "kanbot-no-such-program",
      args: [],
      cwd: worktree,
      env: { PATH: process.env.PATH ?? "" },
      limits: { timeoutMs: 5_000 },
      sandbox: sandbox.commands,
    });

    await expect(attempt).rejects.toMatchObject({ name: "SpawnError", code: "ENOENT" });
    await expect(attempt).rejects.toBeInstanceOf(SpawnError);
  });
});
