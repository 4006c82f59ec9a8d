// Real child processes: the fake agent in test/fixtures/agents is started through runCommand
// and stopped by the limits, a cancel, or its own end. No assertion is about time: limits are
// either tiny for the outcome under test or generous for everything else.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { buildChildEnv } from "../../../runner/process/env.js";
import { SpawnError } from "../../../runner/process/errors.js";
import { truncationMarker } from "../../../runner/process/output.js";
import {
  runCommand,
  type RunCommandOptions,
  type RunLimits,
} from "../../../runner/process/run-command.js";

const FAKE_AGENT = join(import.meta.dirname, "../../fixtures/agents/fake-agent.mjs");
const GENEROUS: RunLimits = { timeoutMs: 60_000, graceMs: 2_000 };

let workdir: string;
let jobCounter = 0;

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), "kanbot-process-"));
});

afterEach(() => {
  rmSync(workdir, { recursive: true, force: true });
});

function fake(
  mode: string,
  overrides: Partial<RunCommandOptions> = {},
  extraEnv: Record<string, string> = {},
) {
  jobCounter += 1;
  const logs: string[] = [];
  const lines: string[] = [];
  const run = runCommand({
    command: process.execPath,
    args: [FAKE_AGENT],
    cwd: workdir,
    env: buildChildEnv({
      source: process.env,
      set: { FAKE_AGENT_MODE: mode, ...extraEnv },
      jobId: `process-test-${process.pid}-${jobCounter}`,
    }),
    limits: GENEROUS,
    onLog: (text) => logs.push(text),
    onLine: (line) => lines.push(line),
    ...overrides,
  });
  return { run, logs, lines };
}

/**
 * Whether a process still runs: `process.kill(pid, 0)` succeeds, and /proc does not show it as a
 * zombie (a killed process re-parented to init stays a zombie until init reaps it, and some
 * container inits reap late; a zombie has exited and holds nothing but its pid).
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitForFile(path: string): Promise<string> {
  for (;;) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

interface TreePids {
  self: number;
  middle: number;
  grandchild: number;
}

describe("runCommand", () => {
  it("reports a clean exit", async () => {
    const { run, lines } = fake("fail");

    const result = await run;

    expect(result).toMatchObject({ exitCode: 3, signal: null, reason: "exit", truncated: false });
    expect(result.stderrTail).toContain("something went wrong");
    expect(lines).toContain("fake agent: something went wrong");
  });

  it("timeout kills the whole tree, including a grandchild that called setsid", async () => {
    const { run } = fake("tree", { limits: { timeoutMs: 1_500, graceMs: 2_000 } });
    const pids = JSON.parse(await waitForFile(join(workdir, "fake-agent-pids.json"))) as TreePids;
    expect(isAlive(pids.grandchild)).toBe(true);

    const result = await run;

    expect(result.reason).toBe("timeout");
    expect(result.sweptPids).toContain(pids.grandchild);
    for (const pid of [pids.self, pids.middle, pids.grandchild]) expect(isAlive(pid)).toBe(false);
  });

  it("cancel kills the whole tree, including an orphaned setsid grandchild (found by its job marker)", async () => {
    const controller = new AbortController();
    const { run } = fake("orphan-tree", { signal: controller.signal });
    const pids = JSON.parse(await waitForFile(join(workdir, "fake-agent-pids.json"))) as TreePids;
    // The middle process exits at once; wait until the grandchild is re-parented away from us.
    while (isAlive(pids.middle)) await new Promise((resolve) => setTimeout(resolve, 20));

    controller.abort();
    const result = await run;

    expect(result.reason).toBe("canceled");
    expect(isAlive(pids.self)).toBe(false);
    expect(isAlive(pids.grandchild)).toBe(false);
  });

  it("sweeps a setsid grandchild left behind when the command exits by itself", async () => {
    const controller = new AbortController();
    const { run } = fake("tree", { signal: controller.signal });
    const pids = JSON.parse(await waitForFile(join(workdir, "fake-agent-pids.json"))) as TreePids;

    process.kill(pids.self, "SIGKILL");
    const result = await run;

    expect(result.reason).toBe("exit");
    expect(result.signal).toBe("SIGKILL");
    expect(isAlive(pids.middle)).toBe(false);
    expect(isAlive(pids.grandchild)).toBe(false);
  });

  it("the silence limit fires when the command prints nothing", async () => {
    const { run } = fake("silent", {
      limits: { timeoutMs: 60_000, silenceMs: 500, graceMs: 2_000 },
    });

    const result = await run;

    expect(result.reason).toBe("silence");
    expect(result.signal).toBe("SIGTERM");
  });

  it("sends SIGKILL after the grace period to a command that ignores SIGTERM", async () => {
    const { run, lines } = fake("ignore-term", { limits: { timeoutMs: 1_000, graceMs: 500 } });

    const result = await run;

    expect(result.reason).toBe("timeout");
    expect(result.signal).toBe("SIGKILL");
    expect(lines).toContain("ignoring SIGTERM");
  });

  it("never lets a secret through: plain, base64, URL-encoded, split across writes, on stderr", async () => {
    const secret = "s3cr3t-Value_for+the/runner=0123456789";
    const { run, logs, lines } = fake("secrets", { secrets: [secret] }, { FAKE_REDACT_ME: secret });

    await run;

    const everything = logs.join("") + lines.join("\n");
    expect(everything).toContain("split: [REDACTED] end");
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(Buffer.from(secret).toString("base64").slice(0, 40));
    expect(everything).not.toContain(
      Buffer.from(`x-access-token:${secret}`).toString("base64").slice(24, 60),
    );
    expect(everything).not.toContain(secret.slice(0, 21));
    expect(everything).not.toContain(secret.slice(21));
  });

  it("caps the log with a visible marker", async () => {
    const { run, logs, lines } = fake(
      "flood",
      { limits: { ...GENEROUS, maxLogBytes: 64 * 1024 } },
      { FAKE_FLOOD_LINES: "20000" },
    );

    const result = await run;

    const log = logs.join("");
    expect(result.truncated).toBe(true);
    expect(log.endsWith(truncationMarker(64 * 1024))).toBe(true);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(
      64 * 1024 + truncationMarker(64 * 1024).length,
    );
    expect(lines).toHaveLength(20_000);
  });

  it("gives the child only the allowlisted environment: no token", async () => {
    const { run, lines } = fake("env");
    const before = { ...process.env };
    process.env.GITHUB_TOKEN = "ghs_abcdefghijklmnopqrstuvwxyz0123456789";
    process.env.KANBOT_RUNNER_TOKEN = "kbr_abc";

    try {
      await run;
    } finally {
      process.env = before;
    }

    const env = JSON.parse(lines[0] ?? "{}") as Record<string, string>;
    expect(env.FAKE_AGENT_MODE).toBe("env");
    expect(env.KANBOT_JOB_ID).toMatch(/^process-test-/);
    expect(Object.keys(env).filter((name) => /TOKEN|SECRET|KEY/.test(name))).toEqual([]);
    expect(JSON.stringify(env)).not.toMatch(/gh[pousr]_/);
  });

  it("throws SpawnError when the program does not exist", async () => {
    const run = runCommand({
      command: "kanbot-no-such-agent",
      args: [],
      cwd: workdir,
      env: buildChildEnv({ source: process.env }),
      limits: GENEROUS,
    });

    await expect(run).rejects.toThrow(SpawnError);
  });
});
