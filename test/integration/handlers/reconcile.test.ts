import { afterAll, describe, expect, it } from "vitest";
import {
  LABELED_STATES,
  resolveLabelNames,
  stateLabelDefinition,
} from "../../../src/domain/labels.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks, type ListedIssue } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  REPO,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const names = resolveLabelNames();

describe("reconciliation at start", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("re-creates issues with a kanbot state label unknown to the store in the right state", async () => {
    const h = await createHarness(gh);
    // The store already knows #8.
    await h.store.upsertTask({
      repo: "Codertocat/Hello-World",
      installationId: 1,
      issueNumber: 8,
      title: "Known",
      body: "",
      state: "queued",
      budget: { attempts: 5, minutes: 60, usd: 10 },
    });
    // App-level: the installations, kanbot's own login, the installation's repositories.
    ghp.installations([{ id: 1, account: REPO.owner }]);
    appIdentity(gh);
    ghp.installationToken();
    ghp.repositories([REPO]);
    ghp.file(REPO, ".github/kanbot.yml", null);
    // GitHub shows: #5 working (its runner and job died with the store), #6 waiting on an open
    // #9, #7 blocked, #8 queued (known), and a pull request in review (not a task).
    const byState: Partial<Record<(typeof LABELED_STATES)[number], ListedIssue[]>> = {
      waiting: [{ number: 6, labels: [names.states.waiting] }],
      queued: [{ number: 8, labels: [names.states.queued] }],
      running: [{ number: 5, labels: [names.states.running] }],
      review: [{ number: 10, labels: [names.states.review], pullRequest: true }],
      blocked: [{ number: 7, labels: [names.states.blocked] }],
    };
    ghp.issuesWithLabels(
      REPO,
      Object.fromEntries(
        LABELED_STATES.map((state) => [names.states[state], byState[state] ?? []]),
      ),
    );
    // No open issue carries the trigger label without a task.
    ghp.issuesWithLabels(REPO, { [names.trigger]: [] });
    for (const number of [5, 6, 7]) {
      const ref = issueRef(number);
      ghp.blockedBy(ref, number === 6 ? [{ ref: issueRef(9), state: "open" }] : []);
      ghp.subIssues(ref, []).comments(ref, []);
    }
    // #5 shows Queued now: its label is swapped; each re-created issue gets a progress comment.
    const queued = stateLabelDefinition("queued", names);
    if (queued !== undefined) ghp.ensureLabels(REPO, { existing: [], create: [queued] });
    ghp.labelNodeIds(REPO);
    ghp.writeIssueView(issueRef(5), {
      remove: [names.states.running],
      add: [names.states.queued],
    });
    ghp.createComment(issueRef(5), {
      body: /kanbot: Queued[\s\S]*Re-created at start: the issue carried the agent:working label/,
    });
    ghp.createComment(issueRef(6), { body: /kanbot: Waiting[\s\S]*Re-created at start/ });
    ghp.createComment(issueRef(7), { body: /kanbot: Blocked[\s\S]*Re-created at start/ });

    const reports = await h.runtime.reconcile();

    expect(reports).toEqual([
      {
        repo: "Codertocat/Hello-World",
        known: 1,
        recreated: [
          { issueNumber: 5, label: "agent:working", state: "queued" },
          { issueNumber: 6, label: "agent:waiting", state: "waiting" },
          { issueNumber: 7, label: "agent:blocked", state: "blocked" },
        ],
        started: [],
        notStarted: [],
      },
    ]);
    const tasks = await h.store.listTasks();
    expect(tasks.map((task) => [task.issueNumber, task.state])).toEqual([
      [8, "queued"],
      [5, "queued"],
      [6, "waiting"],
      [7, "blocked"],
    ]);
    const jobs = await Promise.all(tasks.map((task) => h.store.listJobs(task.id)));
    expect(jobs.map((list) => list.map((job) => [job.kind, job.status]))).toEqual([
      [],
      [["implement", "queued"]],
      [],
      [],
    ]);
    await h.close();
  });

  it("issues the store already knows are counted and left alone", async () => {
    const h = await createHarness(gh);
    await h.store.upsertTask({
      repo: "Codertocat/Hello-World",
      installationId: 1,
      issueNumber: 8,
      title: "Known",
      body: "",
      state: "waiting",
      budget: { attempts: 5, minutes: 60, usd: 10 },
    });
    ghp.installations([{ id: 1, account: REPO.owner }]);
    appIdentity(gh);
    ghp.installationToken();
    ghp.repositories([REPO]);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.issuesWithLabels(
      REPO,
      Object.fromEntries(
        LABELED_STATES.map((state) => [
          names.states[state],
          state === "waiting" ? [{ number: 8, labels: [names.states.waiting] }] : [],
        ]),
      ),
    );
    ghp.issuesWithLabels(REPO, { [names.trigger]: [] });

    const reports = await h.runtime.reconcile();

    expect(reports).toEqual([
      { repo: "Codertocat/Hello-World", known: 1, recreated: [], started: [], notStarted: [] },
    ]);
    expect(await h.store.listTasks()).toHaveLength(1);
    await h.close();
  });
});
