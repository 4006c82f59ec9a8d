// Stopping the real `kanbot-runner start` process (a child of the test) while a stubborn agent
// runs: one that ignores SIGTERM, never exits by itself, and leaves a grandchild in a session of
// its own (setsid). The sandbox's PID namespace with --die-with-parent is what takes the tree
// down when the runner cannot:
// - SIGKILL of the runner: no process of the job survives (with `sandbox: none` too, through the
//   orphan reaper);
// - SIGTERM: the job is canceled after the grace period, its work in progress pushed, the
//   runner exits 0, nothing survives;
// - a second SIGTERM cancels at once, without waiting for the grace period;
// - a third exits at once (exit code 143), and still nothing survives.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { jobProcesses, startLoop, type Loop, type RunnerSetup } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const WAIT = { timeout: 30_000, interval: 25 };

/** Ignores SIGTERM, never exits, leaves a setsid grandchild that ignores SIGTERM too. */
const STUBBORN = `#!/bin/sh
trap '' TERM INT HUP
echo "half done" > work-in-progress.txt
echo working
setsid sh -c 'trap "" TERM INT HUP; while :; do sleep 1; done' > /dev/null 2>&1 < /dev/null &
echo $$ > "$STUBBORN_READY"
while :; do sleep 1; done
`;

let loop: Loop;
let child: ChildProcess | undefined;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  await loop.close();
});

interface Started {
  jobId: number;
  runner: RunnerSetup;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Queues a job and starts the runner CLI on it; resolves once the agent and its grandchild run. */
async function startStubbornJob(graceSeconds: number, extraYaml = ""): Promise<Started> {
  // In a folder of its own: the sandbox shows the agent's folder read-only, and `shared` must
  // stay writable for the ready file.
  const script = join(loop.shared, "bin", "stubborn-agent.sh");
  mkdirSync(dirname(script));
  writeFileSync(script, STUBBORN);
  chmodSync(script, 0o755);
  const ready = join(loop.shared, "ready");
  const jobId = await loop.queueJob();
  const runner = await loop.addRunner(
    `  claude:\n    command: ${script}\n    adapter: command\n    env: { STUBBORN_READY: ${ready} }\n`,
    `logLevel: info\n${extraYaml}`,
  );
  writeFileSync(
    runner.configFile,
    readFileSync(runner.configFile, "utf8").replace(
      "shutdownGraceSeconds: 30",
      `shutdownGraceSeconds: ${graceSeconds}`,
    ),
  );
  child = spawn(
    process.execPath,
    ["--import", "tsx", "runner/cli.ts", "start", "--once", "--config", runner.configFile],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const spawned = child;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    spawned.once("exit", (code, signal) => done({ code, signal })),
  );
  await vi.waitFor(() => {
    if (spawned.exitCode !== null) throw new Error(`the runner exited early: ${stderr}`);
    readFileSync(ready, "utf8");
    // The agent's shell, its sleep, the setsid grandchild and its sleep.
    expect(jobProcesses(jobId).length).toBeGreaterThanOrEqual(4);
  }, WAIT);
  return { jobId, runner, stderr: () => stderr, exited };
}

describe("signals to the runner process", () => {
  it("SIGKILL: no process of the job outlives the runner", async () => {
    const { jobId, exited } = await startStubbornJob(30);

    child?.kill("SIGKILL");

    expect(await exited).toEqual({ code: null, signal: "SIGKILL" });
    await vi.waitFor(() => expect(jobProcesses(jobId)).toEqual([]), WAIT);
  });

  it("SIGKILL with sandbox: none: the reaper kills the agent's tree, setsid grandchild included", async () => {
    const { jobId, exited } = await startStubbornJob(30, "sandbox: none\n");

    child?.kill("SIGKILL");

    expect(await exited).toEqual({ code: null, signal: "SIGKILL" });
    await vi.waitFor(() => expect(jobProcesses(jobId)).toEqual([]), WAIT);
  });

  it("SIGTERM: cancels the job after the grace period, pushes its work in progress, exits 0, leaves nothing", async () => {
    const { jobId, exited, stderr } = await startStubbornJob(1);

    child?.kill("SIGTERM");

    expect(await exited).toEqual({ code: 0, signal: null });
    expect(jobProcesses(jobId)).toEqual([]);
    expect(stderr()).toContain("grace period over: canceling running jobs");
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("canceled");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(job?.result).toMatchObject({ headSha: head, reason: "the runner is shutting down" });
    expect(loop.show(head ?? "", "work-in-progress.txt")).toBe("half done");
  });

  it("a second SIGTERM cancels the job at once instead of waiting for the grace period", async () => {
    // A grace period longer than the test's own time limit: only the second signal ends it.
    const { jobId, exited, stderr } = await startStubbornJob(3_600);
    child?.kill("SIGTERM");
    await vi.waitFor(() => expect(stderr()).toContain("running jobs get the grace period"), WAIT);

    child?.kill("SIGTERM");

    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr()).toContain("second signal: canceling running jobs now");
    expect(jobProcesses(jobId)).toEqual([]);
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("canceled");
    expect(
      loop.show(loop.branchHead("kanbot/1-fix-the-parser") ?? "", "work-in-progress.txt"),
    ).toBe("half done");
  });

  it("a third SIGTERM exits at once; the sandbox still takes the agent's tree down", async () => {
    const { jobId, exited, stderr } = await startStubbornJob(3_600);
    child?.kill("SIGTERM");
    await vi.waitFor(() => expect(stderr()).toContain("running jobs get the grace period"), WAIT);
    child?.kill("SIGTERM");
    // The agent ignores SIGTERM: its stop waits for the kill grace (5 s) before SIGKILL.
    await vi.waitFor(() => expect(stderr()).toContain("second signal"), WAIT);

    child?.kill("SIGTERM");

    expect(await exited).toEqual({ code: 143, signal: null });
    expect(stderr()).toContain("third signal: exiting at once");
    await vi.waitFor(() => expect(jobProcesses(jobId)).toEqual([]), WAIT);
    // Not reported: the lease runs out on the app, which decides what happens to the job.
    expect((await loop.store.getJob(jobId))?.status).toBe("leased");
  });
});
