/**
 * The app dies while it saves a new task's first decision (the trigger label queues it). The task
 * and its decision (state, job, outbox) are one transaction, so the restarted app's retry of the
 * delivery finds no half-made task and queues it like the first time: one task, one queued job,
 * the view shown. Before they were one, the task row was saved first, and the retry found a
 * `queued` task with no job behind it, which nothing ever queued (seen in the two-replica chaos
 * scenario, test/chaos/replicas.test.ts).
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  REPO,
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labelTriggerReads,
  labeledPayload,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

/** The labeled issue as GitHub shows it (labeledPayload's defaults). */
const ISSUE = { labels: ["agent:ready"], title: "Add a widget", body: "Please add a widget." };

describe("the app dies while it saves a new task's first decision", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("the restarted app's retry queues the task with its job, as if the first try never ran", async () => {
    const first = await createHarness(gh, { deliveryBackoffBaseMs: 300 });
    const databasePath = first.databasePath;
    triggerMocks(gh, ghp);
    // The decision's transaction fails as a process dying inside it would leave it: not saved.
    const commitTransition = vi
      .spyOn(first.store, "commitTransition")
      .mockRejectedValueOnce(new Error("the app died while saving the decision"));

    await first.receive("issues", labeledPayload());
    await first.drain();
    expect(commitTransition).toHaveBeenCalledTimes(1);
    expect(await first.store.listTasks()).toEqual([]);
    await first.close();

    // The app starts again; the delivery's retry reads the issue as it is now, and the rest
    // again, and decides again. (Declared first: the retry may be due as soon as the app is up.)
    appIdentity(gh);
    ghp.installationToken();
    ghp.issue(issueRef(1), ISSUE);
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    labelTriggerReads(ghp);
    const again = await createHarness(gh, { databasePath, deliveryBackoffBaseMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 350));
    await again.drain();

    const tasks = await again.store.listTasks();
    expect(tasks.map((task) => task.state)).toEqual(["queued"]);
    expect(
      (await again.store.listJobs(tasks[0]?.id ?? 0)).map((job) => [job.kind, job.status]),
    ).toEqual([["implement", "queued"]]);
    expect(tasks[0]?.pendingEffects).toBeUndefined();
    expect((await again.store.listDeliveries()).map((delivery) => delivery.status)).toEqual([
      "done",
    ]);
    expect(gh.isDone()).toBe(true);
    await again.close();
  });
});
