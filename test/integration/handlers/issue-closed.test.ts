import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";
import { closedPayload } from "../../helpers/handler-payloads.js";

afterAll(cleanupHarnessFolders);

describe("an issue closed by a person", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("cancels the task while its PR is not merged", async () => {
    const h = await createHarness(gh);
    const ref = issueRef(1);
    triggerMocks(gh, ghp, { commentId: 301 });
    await h.receive("issues", labeledPayload());
    await h.drain();
    const started = await h.store.findTask("Codertocat/Hello-World", 1);
    await h.store.updateTask(started?.id ?? 0, { prNumber: 20 });
    ghp.pullRequestMerged({ ...REPO, number: 20 }, false);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.issue(ref, { labels: ["agent:queued"], state: "closed" });
    ghp.writeIssueView(ref, {
      remove: ["agent:queued"],
      comment: { id: 301, body: /kanbot: Canceled[\s\S]*the issue was closed/ },
    });

    await h.receive("issues", closedPayload(1));
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task?.state).toBe("canceled");
    expect((await h.store.listJobs(task?.id ?? 0)).map((job) => job.status)).toEqual(["canceled"]);
    await h.close();
  });

  it("leaves the task to the PR's events when its PR is merged (Closes #N)", async () => {
    const h = await createHarness(gh);
    triggerMocks(gh, ghp);
    await h.receive("issues", labeledPayload());
    await h.drain();
    const started = await h.store.findTask("Codertocat/Hello-World", 1);
    await h.store.updateTask(started?.id ?? 0, { prNumber: 20 });
    ghp.pullRequestMerged({ ...REPO, number: 20 }, true);

    await h.receive("issues", closedPayload(1));
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task?.state).toBe("queued");
    expect((await h.store.listJobs(task?.id ?? 0)).map((job) => job.status)).toEqual(["queued"]);
    expect((await h.store.listDeliveries()).map((delivery) => delivery.status)).toEqual([
      "done",
      "done",
    ]);
    await h.close();
  });
});
