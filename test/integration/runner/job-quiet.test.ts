import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ensureJobQuiet, jobProcesses } from "../../../runner/process/job-quiet.js";

const started: number[] = [];

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** A process left behind by "the job": its own session, the job's marker in its environment. */
async function leftover(marker: string): Promise<number> {
  const child = spawn("sleep", ["300"], {
    detached: true,
    stdio: "ignore",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", KANBOT_JOB_ID: marker },
  });
  child.unref();
  const pid = child.pid as number;
  started.push(pid);
  // Wait until /proc shows it with the marker (the exec has happened).
  for (let i = 0; i < 200; i++) {
    if ((await jobProcesses(marker)).some((info) => info.pid === pid)) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the leftover process never showed up in /proc");
}

describe("ensureJobQuiet (git with a job token only when no process of the job is alive)", () => {
  it("kills a process the job left behind before the token is used, and leaves others alone", async () => {
    const marker = `7.${randomBytes(4).toString("hex")}`;
    const other = `8.${randomBytes(4).toString("hex")}`;
    const pid = await leftover(marker);
    const bystander = await leftover(other);

    await ensureJobQuiet(marker);

    expect(await jobProcesses(marker)).toEqual([]);
    expect((await jobProcesses(other)).map((info) => info.pid)).toEqual([bystander]);
    expect(pid).toBeGreaterThan(0);
  });

  it("returns at once when nothing of the job is alive", async () => {
    const marker = `9.${randomBytes(4).toString("hex")}`;

    await expect(ensureJobQuiet(marker)).resolves.toBeUndefined();
  });
});
