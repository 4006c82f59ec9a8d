/**
 * Budget labels (issue 14, part 3): `budget:2usd` added by a person with the trigger permission
 * sets the task's stored budget; the same label added by someone below it (triage) is ignored,
 * with nothing written to GitHub. At a start, only the budget labels a person with the trigger
 * permission added count (who added them is read from the issue's events, only when the issue
 * carries one). Every GitHub request is mocked and every mock must be used.
 */
import { afterAll, describe, expect, it } from "vitest";

import { DEFAULT_REPO_CONFIG } from "../../../src/config/repo-config.js";
import { setupGitHubMock, type RecordedRequest } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const repoName = `${REPO.owner}/${REPO.repo}`;

describe("a budget label on an issue with a task", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  async function harnessWithTask() {
    const h = await createHarness(gh);
    const { task } = await h.store.upsertTask({
      repo: repoName,
      installationId: 1,
      issueNumber: 1,
      title: "Add a widget",
      body: "",
      state: "queued",
      budget: { attempts: 5, minutes: 60, usd: 10 },
    });
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    return { h, taskId: task.id };
  }

  it("a writer's label sets the task's budget", async () => {
    const { h, taskId } = await harnessWithTask();
    ghp.permission(REPO, "alice", "write");

    await h.receive(
      "issues",
      labeledPayload({ label: "budget:2usd", labels: ["agent:queued", "budget:2usd"] }),
    );
    await h.drain();

    const task = await h.store.getTask(taskId);
    expect(task?.budget).toEqual({ attempts: 5, minutes: 60, usd: 2 });
    await h.close();
  });

  it("a minutes label by a writer sets the time budget", async () => {
    const { h, taskId } = await harnessWithTask();
    ghp.permission(REPO, "alice", "admin");

    await h.receive(
      "issues",
      labeledPayload({ label: "budget:30m", labels: ["agent:queued", "budget:30m"] }),
    );
    await h.drain();

    expect((await h.store.getTask(taskId))?.budget).toEqual({ attempts: 5, minutes: 30, usd: 10 });
    await h.close();
  });

  it("a label by someone below the trigger permission is ignored, with no reply", async () => {
    const { h, taskId } = await harnessWithTask();
    ghp.permission(REPO, "bob", "triage");

    await h.receive(
      "issues",
      labeledPayload({
        label: "budget:500usd",
        labels: ["agent:queued", "budget:500usd"],
        sender: "bob",
      }),
    );
    await h.drain();

    expect((await h.store.getTask(taskId))?.budget).toEqual({ attempts: 5, minutes: 60, usd: 10 });
    await h.close();
  });
});

describe("budget labels already on the issue when a writer starts the task", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const DEFAULT = DEFAULT_REPO_CONFIG.budget;

  /** The GET requests whose path ends with `suffix`. */
  function reads(requests: readonly RecordedRequest[], suffix: RegExp): RecordedRequest[] {
    return requests.filter(
      (request) => request.method === "GET" && suffix.test(new URL(request.url).pathname),
    );
  }

  it("a triage user's budget label is ignored: the task gets the repository's budget", async () => {
    const h = await createHarness(gh);
    const labels = ["budget:500usd", "agent:ready"];
    const payload = triggerMocks(gh, ghp, { labels });
    ghp.issueEvents(issueRef(1), [
      { event: "labeled", label: "budget:500usd", actor: "bob" },
      { event: "labeled", label: "agent:ready", actor: "alice" },
    ]);
    ghp.permission(REPO, "bob", "triage");

    await h.receive("issues", payload);
    await h.drain();

    const task = await h.store.findTask(repoName, 1);
    expect(task).toMatchObject({ state: "queued", startedBy: "alice" });
    expect(task?.budget).toEqual({
      attempts: DEFAULT.attempts,
      minutes: DEFAULT.minutes,
      usd: DEFAULT.usd,
    });
    await h.close();
  });

  it("another writer's budget label is honoured", async () => {
    const h = await createHarness(gh);
    const labels = ["budget:2usd", "budget:30m", "agent:ready"];
    const payload = triggerMocks(gh, ghp, { labels });
    ghp.issueEvents(issueRef(1), [
      { event: "labeled", label: "budget:2usd", actor: "carol" },
      { event: "labeled", label: "budget:30m", actor: "carol" },
      { event: "labeled", label: "agent:ready", actor: "alice" },
    ]);
    ghp.permission(REPO, "carol", "maintain");

    await h.receive("issues", payload);
    await h.drain();

    expect((await h.store.findTask(repoName, 1))?.budget).toEqual({
      attempts: DEFAULT.attempts,
      minutes: 30,
      usd: 2,
    });
    // One events read for both labels; carol's permission read once.
    expect(reads(gh.requests, /\/events$/)).toHaveLength(1);
    expect(reads(gh.requests, /\/collaborators\/carol\/permission$/)).toHaveLength(1);
    await h.close();
  });

  it("the starter's own label costs one events read and no second permission read", async () => {
    const h = await createHarness(gh);
    const payload = triggerMocks(gh, ghp, { labels: ["budget:3usd", "agent:ready"] });
    ghp.issueEvents(issueRef(1), [
      { event: "labeled", label: "budget:3usd", actor: "alice" },
      { event: "labeled", label: "agent:ready", actor: "alice" },
    ]);

    await h.receive("issues", payload);
    await h.drain();

    expect((await h.store.findTask(repoName, 1))?.budget.usd).toBe(3);
    expect(reads(gh.requests, /\/events$/)).toHaveLength(1);
    expect(reads(gh.requests, /\/permission$/)).toHaveLength(1);
    await h.close();
  });

  it("without a budget label, no events read", async () => {
    const h = await createHarness(gh);
    const payload = triggerMocks(gh, ghp, { labels: ["bug", "agent:ready"] });

    await h.receive("issues", payload);
    await h.drain();

    expect((await h.store.findTask(repoName, 1))?.budget.usd).toBe(DEFAULT.usd);
    expect(reads(gh.requests, /\/events$/)).toEqual([]);
    expect(reads(gh.requests, /\/permission$/)).toHaveLength(1);
    await h.close();
  });
});
