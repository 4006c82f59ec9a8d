// The repository's prompt (issue 14, part 5): `.github/kanbot/prompt.md` on the base branch of
// the "GitHub" repository changes the prompt the agent receives (the fake agent writes the
// prompt's first line to kanbot-fake-edit.txt, which kanbot commits and pushes), and a template
// that does not parse fails the job with the file and line before any agent runs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { commitToRemote } from "../../helpers/git-repos.js";
import { FAKE_AGENT, startLoop, type Loop } from "./harness.js";

let loop: Loop;

beforeEach(async () => {
  loop = await startLoop();
});

afterEach(async () => {
  await loop.close();
});

const CLAUDE = `  claude:\n    command: ${FAKE_AGENT}\n    env: { FAKE_AGENT_MODE: claude }\n`;

describe("the repository's prompt template", () => {
  it("changes the prompt the agent receives", async () => {
    commitToRemote(
      loop.remote,
      "main",
      {
        ".github/kanbot/prompt.md":
          "Repository prompt for {{ repository }}#{{ issue.number }} ({{ job.kind }}, attempt {{ attempt }})\n\n{{ issue.title }}\n\n{{ sections.rules }}\n",
      },
      "a prompt template",
    );
    const jobId = await loop.queueJob({ title: "Fix the parser" });
    const runner = await loop.addRunner(CLAUDE);

    await loop.startDaemon(runner, { maxJobs: 1 });

    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("succeeded");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(loop.show(head ?? "", "kanbot-fake-edit.txt")).toBe(
      "Repository prompt for acme/app#1 (implement, attempt 1)",
    );
  });

  it("is read from the base branch: a template changed on the task branch is ignored", async () => {
    const template = "Base prompt: {{ job.kind }} for #{{ issue.number }}\n\n{{ issue.title }}\n";
    commitToRemote(loop.remote, "main", { ".github/kanbot/prompt.md": template }, "a template");
    const first = await loop.queueJob({ title: "Fix the parser" });
    const runner = await loop.addRunner(CLAUDE);
    await loop.startDaemon(runner, { maxJobs: 1 });
    expect((await loop.store.getJob(first))?.status).toBe("succeeded");
    // What an agent on the task branch could do: rewrite the template for the next job.
    commitToRemote(
      loop.remote,
      "kanbot/1-fix-the-parser",
      { ".github/kanbot/prompt.md": "Agent-written prompt\n" },
      "the agent rewrites its prompt",
    );
    const taskId = (await loop.store.getJob(first))?.taskId ?? 0;
    const revise = (await loop.store.enqueueJob({ taskId, kind: "revise" })).id;

    await loop.startDaemon(runner, { maxJobs: 1 });

    expect((await loop.store.getJob(revise))?.status).toBe("succeeded");
    const head = loop.branchHead("kanbot/1-fix-the-parser");
    expect(loop.show(head ?? "", "kanbot-fake-edit.txt")).toBe("Base prompt: revise for #1");
  });

  it("fails the job with the template's line, without running the agent", async () => {
    commitToRemote(
      loop.remote,
      "main",
      { ".github/kanbot/prompt.md": "Work on {{ issue.number }}\n{% if issue.title %}\nno end\n" },
      "a broken prompt template",
    );
    const jobId = await loop.queueJob({ title: "Fix the parser" });
    const runner = await loop.addRunner(CLAUDE);

    await loop.startDaemon(runner, { maxJobs: 1 });

    const job = await loop.store.getJob(jobId);
    expect(job?.status).toBe("failed");
    expect(job?.error).toMatch(/^`\.github\/kanbot\/prompt\.md` line 2: /);
    // The repository's template, not the agent: the app blocks the task at once.
    expect(job?.result?.failureClass).toBe("config");
    expect(job?.result?.failureMessage).toMatch(/^`\.github\/kanbot\/prompt\.md` line 2: /);
    expect(await loop.storedLog(jobId)).not.toContain("starting agent");
    expect(loop.branchHead("kanbot/1-fix-the-parser")).toBeNull();
  });
});
