import { afterAll, describe, expect, it } from "vitest";
import { stateLabelDefinition, resolveLabelNames } from "../../../src/domain/labels.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import { webhookExample } from "../../helpers/github-webhooks.js";
import type { WebhookPayload } from "../../helpers/probot.js";
import {
  cleanupHarnessFolders,
  commentPayload,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const names = resolveLabelNames();

function closedPayload(number: number, sender = "alice"): WebhookPayload<"issues"> {
  const payload = webhookExample("issues", "reopened") as unknown as {
    action: string;
    issue: { number: number; state: string };
    sender: { login: string };
  };
  payload.action = "closed";
  payload.issue.number = number;
  payload.issue.state = "closed";
  payload.sender.login = sender;
  return payload as unknown as WebhookPayload<"issues">;
}

describe("cancel, status and re-run", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("/kanbot cancel cancels the job; /kanbot status edits the same comment; the trigger label re-runs it", async () => {
    const h = await createHarness(gh);
    const ref = issueRef(1);
    triggerMocks(gh, ghp, { commentId: 77 });
    await h.receive("issues", labeledPayload());
    await h.drain();

    // Cancel.
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.issue(ref, { labels: ["agent:queued"] });
    ghp.writeIssueView(ref, {
      remove: ["agent:queued"],
      comment: { id: 77, body: /kanbot: Canceled[\s\S]*Canceled by/ },
    });
    await h.receive("issue_comment", commentPayload("/kanbot cancel"));
    await h.drain();
    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task?.state).toBe("canceled");
    expect((await h.store.listJobs(task?.id ?? 0))[0]?.status).toBe("canceled");

    // Status: the same comment is edited, never a second one.
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.issue(ref, { labels: [] });
    ghp.updateComment(REPO, 77, { body: /^<!-- kanbot:progress Codertocat\/Hello-World#1 -->/ });
    await h.receive("issue_comment", commentPayload("/kanbot status"));
    await h.drain();

    // The trigger label again: a re-run with a fresh budget (the issue is the payload's).
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.blockedBy(ref, []);
    ghp.subIssues(ref, []);
    ghp.comments(ref, [{ id: 77, body: "<!-- kanbot:progress Codertocat/Hello-World#1 -->\n..." }]);
    ghp.writeIssueView(ref, {
      remove: ["agent:ready"],
      add: ["agent:queued"],
      comment: { id: 77, body: /Started again by a person with a fresh budget/ },
    });
    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({ state: "queued" });
    expect(await h.store.listJobs(task?.id ?? 0)).toHaveLength(2);
    await h.close();
  });

  it("removing the state label cancels; a person closing the issue cancels", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp, { number: 1 });
    triggerMocks(gh, ghp, {
      number: 2,
      tokenCached: true,
      identityKnown: true,
      labelsEnsured: true,
      labelIdsKnown: true,
    });
    await h.receive("issues", labeledPayload({ number: 1 }));
    await h.drain();
    await h.receive("issues", labeledPayload({ number: 2 }));
    await h.drain();

    const unlabeled = webhookExample("issues", "unlabeled") as unknown as {
      label: { name: string };
      issue: { number: number };
      sender: { login: string };
    };
    unlabeled.label.name = "agent:queued";
    unlabeled.issue.number = 1;
    unlabeled.sender.login = "alice";
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.issue(issueRef(1), { labels: [] });
    ghp.updateComment(REPO, 1001, { body: /the state label was removed/ });
    await h.receive("issues", unlabeled as unknown as WebhookPayload<"issues">);

    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.issue(issueRef(2), { labels: ["agent:queued"], state: "closed" });
    ghp.writeIssueView(issueRef(2), {
      remove: ["agent:queued"],
      comment: { id: 1002, body: /the issue was closed/ },
    });
    await h.receive("issues", closedPayload(2));
    await h.drain();

    expect((await h.store.listTasks()).map((task) => task.state)).toEqual(["canceled", "canceled"]);
    await h.close();
  });
});

describe("dependencies", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("waits while a blocker is open and is queued when it closes", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp, {
      number: 2,
      state: "waiting",
      blockedBy: [{ ref: issueRef(3), state: "open" }],
    });
    await h.receive("issues", labeledPayload({ number: 2 }));
    await h.drain();
    expect(await h.store.findTask("Codertocat/Hello-World", 2)).toMatchObject({ state: "waiting" });
    expect(await h.store.listJobs(1)).toEqual([]);

    // #3 closes: #2 looks again and is queued.
    const queued = stateLabelDefinition("queued", names);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.issue(issueRef(2), { labels: ["agent:waiting"] });
    ghp.blockedBy(issueRef(2), [{ ref: issueRef(3), state: "closed" }]);
    ghp.subIssues(issueRef(2), []);
    if (queued !== undefined)
      ghp.ensureLabels(REPO, { existing: ["agent:waiting"], create: [queued] });
    ghp.writeIssueView(issueRef(2), {
      remove: ["agent:waiting"],
      add: ["agent:queued"],
      comment: { id: 1002, body: /Dependencies closed; queued an implement job/ },
    });
    await h.receive("issues", closedPayload(3));
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 2);
    expect(task?.state).toBe("queued");
    expect(await h.store.listJobs(task?.id ?? 0)).toHaveLength(1);
    await h.close();
  });

  it("a cycle is reported on every issue in it, naming the cycle", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp, {
      number: 4,
      state: "waiting",
      blockedBy: [{ ref: issueRef(5), state: "open" }],
    });
    await h.receive("issues", labeledPayload({ number: 4 }));
    await h.drain();

    // #5 depends on #4: waiting first, then both blocked with the cycle named.
    triggerMocks(gh, ghp, {
      number: 5,
      state: "waiting",
      blockedBy: [{ ref: issueRef(4), state: "open" }],
      tokenCached: true,
      identityKnown: true,
      labelsEnsured: true,
      labelIdsKnown: true,
    });
    const blocked = stateLabelDefinition("blocked", names);
    if (blocked !== undefined)
      ghp.ensureLabels(REPO, { existing: ["agent:waiting"], create: [blocked] });
    const cycle =
      /Dependency cycle:\*\* Codertocat\/Hello-World#4 -> Codertocat\/Hello-World#5 -> Codertocat\/Hello-World#4/;
    // The event reads `.github/kanbot.yml` once, for #5 and #4 alike (same repository).
    ghp.issue(issueRef(4), { labels: ["agent:waiting"] });
    for (const number of [4, 5]) {
      ghp.writeIssueView(issueRef(number), {
        remove: ["agent:waiting"],
        add: ["agent:blocked"],
        comment: { id: 1000 + number, body: cycle },
      });
    }
    await h.receive("issues", labeledPayload({ number: 5 }));
    await h.drain();

    expect((await h.store.listTasks()).map((task) => [task.issueNumber, task.state])).toEqual([
      [4, "blocked"],
      [5, "blocked"],
    ]);
    await h.close();
  });
});
