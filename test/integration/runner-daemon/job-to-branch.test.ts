// A job from claim to pushed branch: the real daemon claims over HTTP, fetches with a job token,
// runs the agent (the fake agent printing Claude Code's stream-json), validates, commits with
// trailers, pushes to the bare "GitHub" repository and completes; validation failures give the
// agent another round with the failure output.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { gitSync } from "../../helpers/git-repos.js";
import { FAKE_AGENT, ROUND_AGENT, startLoop, type Loop } from "./harness.js";

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

describe("kanbot-runner start", () => {
  it("takes a job from claim to a pushed branch and reports it", async () => {
    loop.workspace.validationCommands = ["test -f kanbot-fake-edit.txt"];
    const jobId = await loop.queueJob({ title: "Fix the parser" });
    const runner = await loop.addRunner(
      `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`,
    );

    const result = await loop.startDaemon(runner, { maxJobs: 1 });

    expect(result).toEqual({ exitCode: 0, jobs: 1 });
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("succeeded");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({
      headSha: head,
      costUsd: 0.0842,
      sessionId: "5d6b3a52-2b1e-4a3e-9c55-0f8d7f1c2a10",
      validation: [{ command: "test -f kanbot-fake-edit.txt", passed: true, exitCode: 0 }],
    });
    expect((job?.result as { summary: string }).summary.length).toBeGreaterThan(0);
    expect(loop.show(head ?? "", "kanbot-fake-edit.txt")).toContain("Implement GitHub issue #1");
    const message = commitMessage(loop, head ?? "");
    expect(message).toContain("Fix the parser (#1)");
    expect(message).toMatch(/Kanbot-Task: \d+\nKanbot-Job: \d+/);
    // The token was asked for when git needed it: the fetch and the push.
    expect(loop.broker.issued.filter((entry) => entry.jobId === jobId)).toHaveLength(2);
    // The lease ended with the completion, and with it the job's tokens.
    expect(loop.broker.revoked.map((entry) => entry.jobId)).toContain(jobId);
    const log = await loop.storedLog(jobId);
    expect(log).toContain("[kanbot-runner] starting agent claude");
    expect(log).toContain("[kanbot-runner] pushed");
    // The worktree is gone after a successful job.
    expect(existsSync(join(runner.workDir, "worktrees", String(jobId)))).toBe(false);
  });

  it("gives the agent another round with the validation failure output", async () => {
    loop.workspace.validationCommands = [
      "test -f round2.txt || (echo 'round2.txt is missing' && exit 7)",
    ];
    loop.workspace.validationRounds = 2;
    const prompts = join(loop.shared, "prompts.log");
    const jobId = await loop.queueJob({ agent: "rounds" });
    const runner = await loop.addRunner(
      `  rounds:\n    command: ${ROUND_AGENT}\n    args: ["{promptFile}"]\n    env: { ROUND_AGENT_PROMPTS: ${prompts} }\n`,
    );

    await loop.startDaemon(runner, { maxJobs: 1 });

    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("succeeded");
    expect(job?.result).toMatchObject({
      validation: [{ passed: true, exitCode: 0 }],
    });
    const seen = readFileSync(prompts, "utf8");
    expect(seen).toContain("=== round 2");
    const second = seen.slice(seen.indexOf("=== round 2"));
    expect(second).toContain("Validation failed (round 1 of 2)");
    expect(second).toContain("round2.txt is missing");
    const head = loop.branchHead("kanbot/1-fix-the-parser") ?? "";
    expect(loop.show(head, "round1.txt")).toBe("round 1");
    expect(loop.show(head, "round2.txt")).toBe("round 2");
  });

  it("fails the job with the validation results once the rounds are spent, and pushes the work", async () => {
    loop.workspace.validationCommands = ["echo never passes && exit 1"];
    loop.workspace.validationRounds = 1;
    const jobId = await loop.queueJob({ agent: "rounds" });
    const runner = await loop.addRunner(
      `  rounds:\n    command: ${ROUND_AGENT}\n    args: ["{promptFile}"]\n`,
    );

    await loop.startDaemon(runner, { maxJobs: 1 });

    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    expect(job?.error).toContain("validation failed after 2 agent rounds");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(job?.result).toMatchObject({
      headSha: head,
      validation: [{ command: "echo never passes && exit 1", passed: false, exitCode: 1 }],
    });
    expect(commitMessage(loop, head ?? "")).toContain("Kanbot-WIP: true");
  });

  it("refuses a branch that touches a forbidden path, naming the file, and pushes nothing", async () => {
    loop.workspace.forbiddenPaths = ["round*.txt"];
    const jobId = await loop.queueJob({ agent: "rounds" });
    const runner = await loop.addRunner(
      `  rounds:\n    command: ${ROUND_AGENT}\n    args: ["{promptFile}"]\n`,
    );

    await loop.startDaemon(runner, { maxJobs: 1 });

    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    expect(job?.error).toContain("round1.txt");
    expect(loop.branchHead("kanbot/1-fix-the-parser")).toBeNull();
  });
});

function commitMessage(target: Loop, sha: string): string {
  return gitSync(target.remote, "log", "-1", "--format=%B", sha);
}
