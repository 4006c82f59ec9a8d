import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  BOT_LOGIN,
  cleanupHarnessFolders,
  commentPayload,
  createHarness,
  issueRef,
  labeledPayload,
  labelTriggerReads,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

describe("triggers", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("the trigger label queues one task and one job, swaps the label and writes the progress comment", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp);

    await h.receive("issues", labeledPayload());
    const processed = await h.drain();

    expect(processed).toBe(1);
    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task).toMatchObject({
      state: "queued",
      agent: "claude",
      priority: 2,
      startedBy: "alice",
    });
    expect(task?.body).toBe("Please add a widget.");
    const jobs = await h.store.listJobs(task?.id ?? 0);
    expect(jobs).toMatchObject([
      { kind: "implement", attempt: 1, status: "queued", agent: "claude" },
    ]);
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    await h.close();
  });

  it("the same delivery twice and a second trigger label make one task and one job", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp);
    // The second label event: config, permission and the reads begun with them; its payload's
    // issue already shows the state.
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    labelTriggerReads(ghp);

    const payload = labeledPayload();
    await h.receive("issues", payload, "delivery-a");
    await h.receive("issues", payload, "delivery-a");
    await h.receive("issues", labeledPayload({ labels: ["agent:queued"] }), "delivery-b");
    await h.drain();

    expect(await h.store.listDeliveries()).toHaveLength(2);
    const tasks = await h.store.listTasks();
    expect(tasks).toHaveLength(1);
    expect(await h.store.listJobs(tasks[0]?.id ?? 0)).toHaveLength(1);
    await h.close();
  });

  it("ignores events sent by kanbot's own bot account", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);

    await h.receive("issues", labeledPayload({ sender: BOT_LOGIN, senderType: "Bot" }));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    await h.close();
  });

  it("refuses a person below the minimum permission with a short reply", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", "minimumPermission: maintain\n");
    ghp.permission(REPO, "mallory", "write");
    labelTriggerReads(ghp);
    ghp.createComment(issueRef(1), {
      body: /^@mallory kanbot did nothing: only people with at least `maintain` permission .* you have `write` permission/,
    });

    await h.receive("issues", labeledPayload({ sender: "mallory" }));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("reports an invalid .github/kanbot.yml on the issue and queues nothing", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", "budget:\n  atempts: 3\n");
    ghp.permission(REPO, "alice", "write");
    labelTriggerReads(ghp);
    ghp.createComment(issueRef(1), {
      body: /kanbot cannot use `\.github\/kanbot\.yml`[\s\S]*budget\.atempts: unknown field/,
    });

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("ignores a label that is not the trigger", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);

    await h.receive("issues", labeledPayload({ label: "bug" }));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("/kanbot run <agent> starts the task with that agent", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp, { labels: [], issueRead: true });

    await h.receive("issue_comment", commentPayload("/kanbot run codex"));
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({
      state: "queued",
      agent: "codex",
    });
    await h.close();
  });
});
