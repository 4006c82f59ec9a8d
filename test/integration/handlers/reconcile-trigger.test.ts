/**
 * Reconciliation at start, for issues whose `agent:ready` label kanbot never saw (the delivery
 * was lost while it was down): such an open issue without a task is started as the person who
 * last added the label (read from the issue's events), whose permission is checked as the label
 * handler checks it; below the minimum they get the label's refusal reply (once); when nobody
 * can be found to have added the label, the issue is left alone.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  LABELED_STATES,
  resolveLabelNames,
  stateLabelDefinition,
} from "../../../src/domain/labels.js";
import { permissionRefusalMessage } from "../../../src/domain/permission.js";
import { fakeUser, FIXTURE_TIME } from "../../helpers/github-fixtures.js";
import { setupGitHubMock, type GitHubMock } from "../../helpers/github-mock.js";
import {
  portMocks,
  type GitHubPortMocks,
  type ListedIssue,
} from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  REPO,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const names = resolveLabelNames();

interface EventSpec {
  event: "labeled" | "unlabeled";
  label: string;
  actor: string;
}

/** `GET …/issues/{n}/events` answering `events` (oldest first) in GitHub's shapes. */
function issueEvents(
  gh: GitHubMock,
  ghp: GitHubPortMocks,
  number: number,
  events: readonly EventSpec[],
): void {
  const api = `${gh.urls.api}/repos/${REPO.owner}/${REPO.repo}`;
  const bodies = events.map((spec, index) => {
    const id = 9_000_000 + number * 100 + index;
    return {
      id,
      node_id: `LE_${id}`,
      url: `${api}/issues/events/${id}`,
      actor: fakeUser(spec.actor, gh.urls),
      event: spec.event,
      commit_id: null,
      commit_url: null,
      created_at: FIXTURE_TIME,
      performed_via_github_app: null,
      label: { name: spec.label, color: "ededed" },
    };
  });
  ghp.list(
    "/repos/{owner}/{repo}/issues/{issue_number}/events",
    {
      ...REPO,
      issue_number: number,
    },
    bodies,
  );
}

/** The app-level calls of a reconciliation of REPO, and its issue lists: none with a state label. */
function reconcileMocks(gh: GitHubMock, ghp: GitHubPortMocks, triggered: readonly ListedIssue[]) {
  ghp.installations([{ id: 1, account: REPO.owner }]);
  appIdentity(gh);
  ghp.installationToken();
  ghp.repositories([REPO]);
  ghp.file(REPO, ".github/kanbot.yml", null);
  ghp.issuesWithLabels(
    REPO,
    Object.fromEntries(LABELED_STATES.map((state) => [names.states[state], []])),
  );
  ghp.issuesWithLabels(REPO, { [names.trigger]: triggered });
}

const repoName = `${REPO.owner}/${REPO.repo}`;
const readyIssue = (number: number, fields: Partial<ListedIssue> = {}): ListedIssue => ({
  number,
  labels: [names.trigger],
  title: "Add a widget",
  body: "Please add a widget.",
  ...fields,
});

describe("reconciliation starts trigger-labeled issues kanbot never saw", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("starts an open issue with agent:ready and no task as its labeler, who has write", async () => {
    const h = await createHarness(gh);
    // #2 has a task already, #4 is closed: neither is looked at further.
    await h.store.upsertTask({
      repo: repoName,
      installationId: 1,
      issueNumber: 2,
      title: "Known",
      body: "",
      state: "done",
      budget: { attempts: 5, minutes: 60, usd: 10 },
    });
    reconcileMocks(gh, ghp, [readyIssue(2), readyIssue(3), readyIssue(4, { state: "closed" })]);
    // bob added it first; kanbot took it off; alice added it again (another spelling); then bob
    // added an unrelated label. The newest `agent:ready` labeled event names alice.
    issueEvents(gh, ghp, 3, [
      { event: "labeled", label: "agent:ready", actor: "bob" },
      { event: "unlabeled", label: "agent:ready", actor: "kanbot[bot]" },
      { event: "labeled", label: "Agent:Ready", actor: "alice" },
      { event: "labeled", label: "bug", actor: "bob" },
    ]);
    ghp.permission(REPO, "alice", "write");
    // The usual start of a label: dependencies and comments, the state label, the progress comment.
    const ref = issueRef(3);
    ghp.blockedBy(ref, []).subIssues(ref, []).comments(ref, []);
    const queued = stateLabelDefinition("queued", names);
    if (queued !== undefined) ghp.ensureLabels(REPO, { existing: [], create: [queued] });
    ghp.labelNodeIds(REPO);
    ghp.writeIssueView(ref, { remove: [names.trigger], add: [names.states.queued] });
    ghp.createComment(ref, { body: /^<!-- kanbot:progress / });

    const reports = await h.runtime.reconcile();

    expect(reports).toEqual([
      {
        repo: repoName,
        known: 0,
        recreated: [],
        started: [{ issueNumber: 3, actor: "alice", outcome: "transition" }],
        notStarted: [],
      },
    ]);
    const task = await h.store.findTask(repoName, 3);
    expect(task).toMatchObject({
      state: "queued",
      startedBy: "alice",
      body: "Please add a widget.",
    });
    expect(await h.store.listJobs(task?.id ?? 0)).toMatchObject([
      { kind: "implement", status: "queued", attempt: 1 },
    ]);
    expect(await h.store.findTask(repoName, 4)).toBeUndefined();
    expect((await h.store.listTasks()).map((each) => each.issueNumber).sort()).toEqual([2, 3]);
    await h.close();
  });

  it("refuses a labeler below the minimum permission with the label's reply, once", async () => {
    const h = await createHarness(gh);
    reconcileMocks(gh, ghp, [readyIssue(5), readyIssue(6)]);
    const refusal = permissionRefusalMessage({
      login: "mallory",
      actual: "read",
      required: "write",
      action: "start",
    });
    for (const number of [5, 6]) {
      issueEvents(gh, ghp, number, [{ event: "labeled", label: "agent:ready", actor: "mallory" }]);
      ghp.permission(REPO, "mallory", "read");
    }
    // #5 gets the reply; #6 had it already (the label path refused it when the label was added).
    ghp.comments(issueRef(5), [{ id: 50, body: "Please add a widget.", author: "mallory" }]);
    ghp.createComment(issueRef(5), { body: refusal });
    ghp.comments(issueRef(6), [{ id: 60, body: refusal }]);

    const reports = await h.runtime.reconcile();

    expect(reports).toEqual([
      {
        repo: repoName,
        known: 0,
        recreated: [],
        started: [],
        notStarted: [
          { issueNumber: 5, actor: "mallory", why: "mallory has read, below write" },
          { issueNumber: 6, actor: "mallory", why: "mallory has read, below write" },
        ],
      },
    ]);
    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("leaves alone an issue whose labeler cannot be found", async () => {
    const h = await createHarness(gh);
    reconcileMocks(gh, ghp, [readyIssue(7), readyIssue(8)]);
    // #7's events show no one adding agent:ready (only another label); #8 is gone meanwhile.
    issueEvents(gh, ghp, 7, [{ event: "labeled", label: "bug", actor: "alice" }]);
    ghp.restError("GET", `/repos/${REPO.owner}/${REPO.repo}/issues/8/events`, 404);

    const reports = await h.runtime.reconcile();

    expect(reports).toEqual([
      {
        repo: repoName,
        known: 0,
        recreated: [],
        started: [],
        notStarted: [
          { issueNumber: 7, actor: undefined, why: "labeler unknown" },
          { issueNumber: 8, actor: undefined, why: "labeler unknown" },
        ],
      },
    ]);
    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });
});
