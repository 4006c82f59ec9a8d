import { afterAll, describe, expect, it } from "vitest";
import { kanbotMain } from "../../../src/commands.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import {
  DEFAULT_STATUS_OPTIONS,
  fakeBoard,
  issueNodeId,
  portMocks,
} from "../../helpers/github-port-mocks.js";
import {
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  REPO,
  triggerMocks,
  type Harness,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const RULES = "agents:\n  rules:\n    - match: [docs]\n      agent: aider\n";

/** The issue numbers of the repository's queue, in the order runners get them. */
async function queueOrder(h: Harness): Promise<number[]> {
  const tasks = new Map((await h.store.listTasks()).map((task) => [task.id, task.issueNumber]));
  return (await h.store.listQueue({ repo: "Codertocat/Hello-World" })).map(
    (job) => tasks.get(job.taskId) ?? -1,
  );
}

describe("routing order: use:<name> label > [name] title prefix > keyword rules > default", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it.each([
    { labels: ["agent:ready", "use:codex"], title: "[gemini] Update the docs", agent: "codex" },
    { labels: ["agent:ready"], title: "[gemini] Update the docs", agent: "gemini" },
    { labels: ["agent:ready"], title: "Update the docs", agent: "aider" },
    { labels: ["agent:ready"], title: "Add a widget", agent: "claude" },
  ])("labels $labels, title $title -> $agent", async ({ labels, title, agent }) => {
    const h = await createHarness(gh);
    const payload = triggerMocks(gh, ghp, {
      config: RULES,
      labels,
      title,
      body: "Nothing about it here.",
    });

    await h.receive("issues", payload);
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task).toMatchObject({ state: "queued", agent });
    expect(await h.store.listJobs(task?.id ?? 0)).toMatchObject([{ agent, status: "queued" }]);
    await h.close();
  });
});

describe("priority order: priority:P0..P3 labels or the board's Priority field, FIFO within a priority", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("queues by priority label, first come first served within one, and kanbot plan says so", async () => {
    const h = await createHarness(gh);
    const issues = [
      { number: 1, labels: ["agent:ready"] },
      { number: 2, labels: ["agent:ready", "priority:P0"] },
      { number: 3, labels: ["agent:ready", "priority:P1"] },
      { number: 4, labels: ["agent:ready"] },
      { number: 5, labels: ["agent:ready", "priority:P3", "priority:P1"] },
    ];
    for (const [i, issue] of issues.entries()) {
      const first = i === 0;
      const payload = triggerMocks(gh, ghp, {
        number: issue.number,
        labels: issue.labels,
        tokenCached: !first,
        identityKnown: !first,
        labelsEnsured: !first,
        labelIdsKnown: !first,
      });
      await h.receive("issues", payload);
      await h.drain();
    }
    const grant = await h.store.createRegistrationToken(60_000);
    await h.store.registerRunner({
      registrationToken: grant.token,
      name: "studio",
      agents: ["claude"],
      labels: [],
      repos: [],
    });
    const tasks = (await h.store.listTasks()).map((task) => [task.issueNumber, task.priority]);
    const queue = await queueOrder(h);
    await h.close();
    const out = { stdout: "", stderr: "" };
    const code = await kanbotMain(
      ["plan", "--repo", "Codertocat/Hello-World"],
      { DATABASE_URL: h.databasePath },
      {
        stdout: { write: (text: string) => (out.stdout += text) },
        stderr: { write: (text: string) => (out.stderr += text) },
      },
    );

    expect(tasks).toEqual([
      [1, 2],
      [2, 0],
      [3, 1],
      [4, 2],
      [5, 1],
    ]);
    expect(queue).toEqual([2, 3, 5, 1, 4]);
    expect(code).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines).toContain("Next: #2 implement job #2 (attempt 1, agent claude, P0) -> studio");
    expect(lines.filter((line) => line.includes("queued behind #2"))).toEqual([
      "  #1 (queued): implement job #1 (attempt 1, agent claude, P2) is queued behind #2 (priority first, then age)",
      "  #3 (queued): implement job #3 (attempt 1, agent claude, P1) is queued behind #2 (priority first, then age)",
      "  #4 (queued): implement job #4 (attempt 1, agent claude, P2) is queued behind #2 (priority first, then age)",
      "  #5 (queued): implement job #5 (attempt 1, agent claude, P1) is queued behind #2 (priority first, then age)",
    ]);
  });

  it("takes the board's Priority field when the issue has no priority label; a label wins over it", async () => {
    const h = await createHarness(gh);
    const board = fakeBoard({
      owner: REPO.owner,
      number: 7,
      fields: { Status: [...DEFAULT_STATUS_OPTIONS], Priority: ["Urgent", "High", "Low"] },
    });
    // #1: no priority label; its card says Urgent (P0) and sits in Backlog, so it moves to Ready.
    const first = triggerMocks(gh, ghp, {
      number: 1,
      config: "board:\n  project: 7\n",
      card: { board, itemId: "PVTI_1", option: "Ready" },
    });
    ghp.project(board);
    ghp.projectItem(board, issueNodeId(issueRef(1)), {
      id: "PVTI_1",
      values: { Status: "Backlog", Priority: "Urgent" },
    });
    // #2: priority:P3 on the issue wins over the card's Urgent; its card is in Ready already.
    const second = triggerMocks(gh, ghp, {
      number: 2,
      config: "board:\n  project: 7\n",
      labels: ["agent:ready", "priority:P3"],
      tokenCached: true,
      identityKnown: true,
      labelsEnsured: true,
      labelIdsKnown: true,
    });
    // The board is not asked for again: the first event's answer is kept (project-cache.ts).
    ghp.projectItem(board, issueNodeId(issueRef(2)), {
      id: "PVTI_2",
      values: { Status: "Ready", Priority: "Urgent" },
    });

    await h.receive("issues", second);
    await h.drain();
    await h.receive("issues", first);
    await h.drain();

    expect((await h.store.listTasks()).map((task) => [task.issueNumber, task.priority])).toEqual([
      [2, 3],
      [1, 0],
    ]);
    expect(await queueOrder(h)).toEqual([1, 2]);
    await h.close();
  });
});
