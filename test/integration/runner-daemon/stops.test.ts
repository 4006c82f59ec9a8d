// Stopping a job: cancel and timeout kill the agent's whole process tree (a grandchild that called
// setsid included) and push the work in progress; a lost lease stops the agent and pushes nothing,
// whether the runner learns it from a heartbeat or right before pushing.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { LeaseLostError } from "../../../runner/client.js";
import { gitSync } from "../../helpers/git-repos.js";
import { FAKE_AGENT, jobProcesses, startLoop, WAIT_AGENT, type Loop } from "./harness.js";

const BRANCH = "kanbot/1-fix-the-parser";
const WAIT = { timeout: 30_000, interval: 25 };

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

interface TreePids {
  self: number;
  middle: number;
  grandchild: number;
}

function readPids(workDir: string, jobId: number): TreePids | undefined {
  const file = join(workDir, "worktrees", String(jobId), "fake-agent-pids.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as TreePids) : undefined;
}

/** Whether the remote accepts `token` for a push (GitHub answers 401 once it is revoked). */
async function pushAllowed(target: Loop, token: string): Promise<boolean> {
  const response = await fetch(
    `${target.git.url}/acme/app.git/info/refs?service=git-receive-pack`,
    {
      headers: {
        authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
      },
    },
  );
  await response.arrayBuffer();
  return response.status === 200;
}

describe("stopping a job", () => {
  it("cancel: kills the whole tree, setsid grandchild included, and pushes the work in progress", async () => {
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: tree }\n`,
    );
    const daemon = loop.startDaemon(runner, { maxJobs: 1 });
    const pids = await vi.waitFor(() => {
      const found = readPids(runner.workDir, jobId);
      if (found === undefined) throw new Error("the agent tree has not started yet");
      return found;
    }, WAIT);
    // The agent, its child and the setsid grandchild (pids above are the sandbox's own).
    expect(jobProcesses(jobId).length).toBeGreaterThanOrEqual(3);

    await loop.store.cancelJob(jobId, "octocat");
    const result = await daemon;

    expect(result.exitCode).toBe(0);
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("canceled");
    const head = loop.branchHead(BRANCH);
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({ headSha: head, reason: "the job was canceled" });
    expect(JSON.parse(loop.show(head ?? "", "fake-agent-pids.json"))).toEqual(pids);
    expect(gitSync(loop.remote, "log", "-1", "--format=%B", head ?? "")).toContain(
      "Kanbot-WIP: true",
    );
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it("timeout: kills the tree that ignores SIGTERM and pushes the work in progress", async () => {
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: tree }\n    timeoutMinutes: 0.03\n`,
    );

    const result = await loop.startDaemon(runner, { maxJobs: 1 });

    expect(result.exitCode).toBe(0);
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    expect(job?.error).toContain("time limit");
    const head = loop.branchHead(BRANCH);
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({ headSha: head });
    // The tree had started (it wrote its pids), and nothing of it is left.
    expect(JSON.parse(loop.show(head ?? "", "fake-agent-pids.json"))).toHaveProperty("grandchild");
    expect(jobProcesses(jobId)).toEqual([]);
    expect(await loop.storedLog(jobId)).toContain("pushing the work in progress");
  });

  it("lease lost (heartbeat 409): stops the agent, pushes nothing; another runner finishes the job", async () => {
    const ready = join(loop.shared, "ready");
    const firstJob = await loop.queueJob();
    const first = await loop.addRunner(
      `  claude:\n    command: ${WAIT_AGENT}\n    adapter: command\n    env: { WAIT_AGENT_READY: ${ready} }\n`,
    );
    const daemon = loop.startDaemon(first, { maxJobs: 1 });
    await vi.waitFor(() => readFileSync(ready, "utf8"), WAIT);
    expect(jobProcesses(firstJob)).not.toEqual([]);
    const [claim] = loop.claims;
    const firstToken = loop.broker.issued.find((entry) => entry.jobId === firstJob)?.token ?? "";
    expect(await pushAllowed(loop, firstToken)).toBe(true);

    await loop.expireLeases();
    const result = await daemon;

    expect(result.exitCode).toBe(0);
    expect(jobProcesses(firstJob)).toEqual([]);
    expect((await loop.store.getJob(firstJob))?.status).toBe("lost");
    expect(loop.branchHead(BRANCH)).toBeNull();
    expect(
      loop.git.requests.filter((request) => request.path.endsWith("git-receive-pack")),
    ).toEqual([]);
    // The app revoked the first runner's job token when the lease ended.
    expect(loop.broker.revoked).toContainEqual({ jobId: firstJob, tokens: [firstToken] });
    expect(await pushAllowed(loop, firstToken)).toBe(false);
    // Its completion is refused: the lease token no longer holds the job.
    await expect(
      loop.client(first.token).complete(firstJob, {
        leaseToken: claim?.lease.token ?? "",
        outcome: { status: "failed", error: "late" },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);

    // The retry the task machine's job-lost queues (the app's task loop is not part of this
    // harness) goes to another runner, which pushes the branch.
    const lost = await loop.store.getJob(firstJob);
    if (lost === undefined) throw new Error("the lost job is gone");
    await loop.store.enqueueJob({ taskId: lost.taskId, kind: lost.kind });
    const second = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );
    await loop.startDaemon(second, { maxJobs: 1 });
    const jobs = await loop.store.listJobs((await loop.store.getJob(firstJob))?.taskId ?? 0);
    const retry = jobs.find((job) => job.id !== firstJob);
    expect(retry?.status).toBe("succeeded");
    expect(loop.branchHead(BRANCH)).toBe((retry?.result as { headSha: string }).headSha);
  });

  it("lease lost (learned right before pushing): the finished work is not pushed", async () => {
    const ready = join(loop.shared, "ready");
    const release = join(loop.shared, "release");
    const jobId = await loop.queueJob();
    const runner = await loop.addRunner(
      `  claude:\n    command: ${WAIT_AGENT}\n    adapter: command\n    env: { WAIT_AGENT_READY: ${ready}, WAIT_AGENT_RELEASE: ${release} }\n`,
    );
    // No heartbeat within the test: the runner learns nothing until it asks to push.
    const daemon = loop.startDaemon(runner, { maxJobs: 1, heartbeatIntervalMs: 3_600_000 });
    await vi.waitFor(() => readFileSync(ready, "utf8"), WAIT);

    await loop.expireLeases();
    writeFileSync(release, "go");
    await daemon;

    expect((await loop.store.getJob(jobId))?.status).toBe("lost");
    expect(loop.branchHead(BRANCH)).toBeNull();
    expect(
      loop.git.requests.filter((request) => request.path.endsWith("git-receive-pack")),
    ).toEqual([]);
    expect(await loop.storedLog(jobId)).not.toContain("pushed");
  });
});
