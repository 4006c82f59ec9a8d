// The runner's life around its jobs, through the real CLI entry (`runnerMain`) where a person
// would use it: register, doctor, orphan worktrees swept at start and by `cleanup`, a revoked
// runner token stopping the daemon with a clear message, and shutdown (SIGTERM) canceling a job
// after the grace period with its work in progress pushed.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { loadRunnerConfig } from "../../../runner/config.js";
import { runnerMain } from "../../../runner/main.js";
import { createWorkspaces } from "../../../runner/workspace/index.js";
import { FAKE_AGENT, REPO, startLoop, streams, WAIT_AGENT, type Loop } from "./harness.js";

/** The real Claude Code CLI (a devDependency): doctor runs its --version. */
const CLAUDE = resolve(import.meta.dirname, "../../../node_modules/.bin/claude");
const WAIT = { timeout: 30_000, interval: 25 };

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

const silent = pino({ level: "silent" });

describe("kanbot-runner commands", () => {
  it("register stores the runner token with 0600 permissions; doctor then passes", async () => {
    const grant = await loop.store.createRegistrationToken(60_000);
    const file = join(loop.dir, "kanbot-runner.yml");
    writeFileSync(
      file,
      `# my runner\nappUrl: ${loop.baseUrl}\nname: laptop\nworkDir: ./work\nagents:\n  claude:\n    command: ${CLAUDE}\n`,
    );
    const { out, io } = streams();

    const code = await runnerMain(["register", "--config", file, "--token", grant.token], io);

    expect(out.stderr).toBe("");
    expect(code).toBe(0);
    expect(out.stdout).toContain('Registered runner "laptop"');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# my runner");
    const loaded = await loadRunnerConfig(file);
    expect(loaded.token).toMatch(/.{20,}/);
    expect((await loop.store.listRunners()).map((runner) => runner.name)).toEqual(["laptop"]);

    const doctor = streams();
    // Claude Code reads its key from the environment (doctor checks it with `claude auth status`).
    const doctorCode = await runnerMain(["doctor", "--config", file], doctor.io, {
      env: { ...process.env, ANTHROPIC_API_KEY: "sk-ant-not-checked-by-auth-status" },
    });

    expect(doctor.out.stdout).toMatch(/^OK {4}git: \d+\.\d+/m);
    expect(doctor.out.stdout).toMatch(/^OK {4}agent claude: .*Claude Code/m);
    expect(doctor.out.stdout).toMatch(/^OK {4}agent claude auth: logged in/m);
    expect(doctor.out.stdout).toMatch(/^OK {4}app: .*accepts this runner's token/m);
    expect(doctor.out.stdout).toMatch(/^(OK|WARN) {1,4}disk: /m);
    expect(doctorCode).toBe(0);

    const status = streams();
    const statusCode = await runnerMain(["status", "--config", file], status.io);

    expect(statusCode).toBe(0);
    expect(status.out.stdout).toContain("token:       accepted by the app");
    expect(status.out.stdout).toContain("worktrees:   0");
  });

  it("a second use of a registration token is refused with advice", async () => {
    const grant = await loop.store.createRegistrationToken(60_000);
    const file = join(loop.dir, "kanbot-runner.yml");
    writeFileSync(file, `appUrl: ${loop.baseUrl}\nagents:\n  claude: {}\n`);
    await runnerMain(["register", "--config", file, "--token", grant.token], streams().io);
    const { out, io } = streams();

    const code = await runnerMain(["register", "--config", file, "--token", grant.token], io);

    expect(code).toBe(1);
    expect(out.stderr).toContain("refused the registration token");
    expect(out.stderr).toContain("kanbot runners add");
  });

  it("sweeps orphan worktrees at start and with cleanup", async () => {
    const runner = await loop.addRunner(`  claude:\n    command: ${FAKE_AGENT}\n`);
    const token = (await loop.broker.issue(999, 1, REPO)).token;
    const workspaces = createWorkspaces({ workDir: runner.workDir, log: silent });
    for (const jobId of ["901", "902"]) {
      await workspaces.prepare({
        jobId,
        taskId: "1",
        repo: { owner: "acme", name: "app", cloneUrl: `${loop.git.url}/${REPO}.git` },
        token,
        branch: `kanbot/${jobId}-orphan`,
        baseBranch: "main",
        startFrom: "base",
      });
    }
    const stop = new AbortController();
    stop.abort();

    await loop.startDaemon(runner, { stop: stop.signal });

    expect(existsSync(join(runner.workDir, "worktrees", "901"))).toBe(false);
    expect(await workspaces.list()).toEqual([]);

    const kept = await workspaces.prepare({
      jobId: "903",
      taskId: "1",
      repo: { owner: "acme", name: "app", cloneUrl: `${loop.git.url}/${REPO}.git` },
      token,
      branch: "kanbot/903-orphan",
      baseBranch: "main",
      startFrom: "base",
    });
    const { out, io } = streams();
    const code = await runnerMain(["cleanup", "--config", runner.configFile], io);

    expect(code).toBe(0);
    expect(out.stdout).toContain("Removed 1 worktree (jobs 903)");
    expect(existsSync(kept.path)).toBe(false);
  });

  it("stops with a clear message and exit code 3 when the runner token is revoked", async () => {
    const runner = await loop.addRunner(`  claude:\n    command: ${FAKE_AGENT}\n`);
    await loop.store.revokeRunner(runner.runnerId, "admin");
    const { out, io } = streams();

    const code = await runnerMain(["start", "--config", runner.configFile], io, {
      stop: new AbortController().signal,
      log: silent,
    });

    expect(code).toBe(3);
    expect(out.stderr).toContain("refused this runner's token");
    expect(out.stderr).toContain("kanbot-runner register");
  });

  it("on shutdown, cancels a job that outlives the grace period and pushes its work in progress", async () => {
    const ready = join(loop.shared, "ready");
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${WAIT_AGENT}\n    adapter: command\n    env: { WAIT_AGENT_READY: ${ready} }\n`,
    );
    const config = readFileSync(runner.configFile, "utf8").replace(
      "shutdownGraceSeconds: 30",
      "shutdownGraceSeconds: 0",
    );
    writeFileSync(runner.configFile, config);
    const loaded = await loadRunnerConfig(runner.configFile);
    const stop = new AbortController();
    const daemon = loop.startDaemon({ ...runner, loaded }, { stop: stop.signal });
    await vi.waitFor(() => readFileSync(ready, "utf8"), WAIT);

    stop.abort();
    const result = await daemon;

    expect(result).toEqual({ exitCode: 0, jobs: 1 });
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("canceled");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(job?.result).toMatchObject({ headSha: head, reason: "the runner is shutting down" });
    expect(loop.show(head ?? "", "work-in-progress.txt")).toBe("half done");
  });

  it("--help works for every command", async () => {
    for (const command of ["register", "start", "status", "doctor", "cleanup"]) {
      const { out, io } = streams();

      const code = await runnerMain([command, "--help"], io);

      expect(code).toBe(0);
      expect(out.stdout).toContain(`Usage: kanbot-runner ${command}`);
    }
  });
});
