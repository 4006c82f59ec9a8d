// Hard budgets (issue 14, part 3): a Codex-style agent that keeps reporting token usage is stopped
// mid-run once its priced cost reaches the USD the task has left, and an agent that outlives the
// task's minutes is stopped likewise; either way the whole tree is gone, the work in progress is
// pushed, and the job fails as `task` with "budget spent" and the figures.
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { gitSync } from "../../helpers/git-repos.js";
import { jobProcesses, startLoop, type Loop } from "./harness.js";

const USAGE_AGENT = join(import.meta.dirname, "../../fixtures/runner/usage-agent.mjs");
const BRANCH = "kanbot/1-fix-the-parser";

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

describe("hard budgets", () => {
  it("USD: a Codex-style agent is stopped from its reported token usage and its work is pushed", async () => {
    // $0.50 left; each usage step of the agent costs $0.2025 at gpt-5-codex's default price
    // (80k input at $1.25, 20k cached at $0.125, 10k output at $10 per million).
    const jobId = await loop.queueJob({
      agent: "codex",
      budget: { attempts: 3, minutes: 60, usd: 0.5 },
    });
    const runner = await loop.addRunner(
      `  codex:\n    command: ${USAGE_AGENT}\n    model: gpt-5-codex\n`,
    );

    const result = await loop.startDaemon(runner, { maxJobs: 1 });

    expect(result.exitCode).toBe(0);
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    // The tokens it reported while it was being stopped count too: at least three steps.
    expect(job?.error).toMatch(
      /^budget spent: the agent's cost reached \$\d+\.\d+ of the \$0\.50 the task had left \(its reported tokens priced as gpt-5-codex\); the agent was stopped\./,
    );
    const head = loop.branchHead(BRANCH);
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({
      headSha: head,
      failureClass: "task",
      agentCli: "codex",
    });
    expect(job?.result?.costUsd).toBeGreaterThanOrEqual(0.6075);
    expect(loop.show(head ?? "", "work-in-progress.txt")).toMatch(/^half done/);
    expect(gitSync(loop.remote, "log", "-1", "--format=%B", head ?? "")).toContain(
      "Kanbot-WIP: true",
    );
    expect(jobProcesses(jobId)).toEqual([]);
    expect(await loop.storedLog(jobId)).toContain("pushing the work in progress");
  });

  it("minutes: the agent is stopped when the task's minutes run out and its work is pushed", async () => {
    // No price for the model: USD cannot be enforced, and the log says so; minutes still hold.
    const jobId = await loop.queueJob({
      agent: "codex",
      budget: { attempts: 3, minutes: 0.2, usd: 5 },
    });
    const runner = await loop.addRunner(
      `  codex:\n    command: ${USAGE_AGENT}\n    model: some-unpriced-model\n    env: { USAGE_AGENT_INPUT: "10", USAGE_AGENT_OUTPUT: "1" }\n`,
    );

    const result = await loop.startDaemon(runner, { maxJobs: 1 });

    expect(result.exitCode).toBe(0);
    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    expect(job?.error).toMatch(
      /^budget spent: the job ran [\d.]+ of the 0\.20 minutes the task had left/,
    );
    const head = loop.branchHead(BRANCH);
    expect(head).not.toBeNull();
    expect(job?.result).toMatchObject({ headSha: head, failureClass: "task" });
    expect(job?.result?.durationSeconds).toBeGreaterThanOrEqual(12);
    expect(loop.show(head ?? "", "work-in-progress.txt")).toMatch(/^half done/);
    expect(jobProcesses(jobId)).toEqual([]);
    expect(await loop.storedLog(jobId)).toContain(
      'the USD budget is not enforced for this run: no price for model "some-unpriced-model"',
    );
  });
});
