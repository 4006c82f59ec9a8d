/**
 * Budget labels (issue 14, part 3): `budget:2usd` added by a person with the trigger permission
 * sets the task's stored budget; the same label added by someone below it (triage) is ignored,
 * with nothing written to GitHub. Every GitHub request is mocked and every mock must be used.
 */
import { afterAll, describe, expect, it } from "vitest";

import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  labeledPayload,
  REPO,
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
