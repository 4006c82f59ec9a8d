// A runner killed mid-job: the real `kanbot-runner start` in a child process claims a job over
// HTTP and starts its agent; the test SIGKILLs it. Its lease runs out on the app's clock, the app
// revokes its job token and queues the job again, another runner finishes it, and the killed
// runner's late completion is rejected.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { LeaseLostError } from "../../../runner/client.js";
import { FAKE_AGENT, jobProcesses, startLoop, WAIT_AGENT, type Loop } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const WAIT = { timeout: 40_000, interval: 25 };

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

describe("a runner killed mid-job", () => {
  it("loses its lease and its job token; another runner finishes; its completion is rejected", async () => {
    const ready = join(loop.shared, "ready");
    const jobId = await loop.queueJob();
    const first = await loop.addRunner(
      `  claude:\n    command: ${WAIT_AGENT}\n    adapter: command\n    env: { WAIT_AGENT_READY: ${ready} }\n`,
      "logLevel: warn\n",
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "runner/cli.ts", "start", "--once", "--config", first.configFile],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((done) =>
      child.once("exit", (_code, signal) => done(signal)),
    );
    await vi.waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the runner exited early: ${stderr}`);
      return readFileSync(ready, "utf8");
    }, WAIT);
    expect(jobProcesses(jobId)).not.toEqual([]);
    const firstToken = loop.broker.issued.find((entry) => entry.jobId === jobId)?.token;

    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    await loop.expireLeases();

    const lost = await loop.store.getJob(jobId);
    expect(lost?.status).toBe("lost");
    expect(loop.broker.revoked).toContainEqual({ jobId, tokens: [firstToken] });
    expect(loop.git.requests.some((request) => request.path.endsWith("git-receive-pack"))).toBe(
      false,
    );
    // Nothing of the job outlived its runner (the sandbox dies with it).
    await vi.waitFor(() => expect(jobProcesses(jobId)).toEqual([]), WAIT);

    // The retry the task machine's job-lost queues (the app's task loop is not part of this
    // harness).
    await loop.store.enqueueJob({ taskId: lost?.taskId ?? 0, kind: lost?.kind ?? "implement" });
    const second = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );
    await loop.startDaemon(second, { maxJobs: 1 });

    const retry = (await loop.store.listJobs(lost?.taskId ?? 0)).find((job) => job.id !== jobId);
    expect(retry?.status).toBe("succeeded");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(head).toBe((retry?.result as { headSha: string }).headSha);
    const firstClaim = loop.claims.find((claim) => claim.job.id === jobId);
    await expect(
      loop.client(first.token).complete(jobId, {
        leaseToken: firstClaim?.lease.token ?? "",
        outcome: { status: "succeeded", headSha: head ?? "", summary: "late" },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect((await loop.store.getJob(jobId))?.status).toBe("lost");
  });
});
