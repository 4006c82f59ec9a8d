import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  cleanupHarnessFolders,
  createHarness,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

describe("required runner labels: the config's agents.runsOn plus runs-on:<label> labels", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("stores the labels on the job, and only a runner carrying all of them can claim it", async () => {
    const h = await createHarness(gh);
    const payload = triggerMocks(gh, ghp, {
      config: "agents:\n  runsOn: [gpu]\n",
      labels: ["agent:ready", "runs-on:os:mac"],
    });

    await h.receive("issues", payload);
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    const [job] = await h.store.listJobs(task?.id ?? 0);
    expect([...(job?.requiredLabels ?? [])].sort()).toEqual(["gpu", "os:mac"]);
    const gpuOnly = await h.store.claimJob(
      { runnerId: "r-gpu", agents: ["claude"], labels: ["gpu"], repos: [] },
      60_000,
    );
    expect(gpuOnly).toBeUndefined();
    const both = await h.store.claimJob(
      { runnerId: "r-mac", agents: ["claude"], labels: ["gpu", "os:mac", "extra"], repos: [] },
      60_000,
    );
    expect(both?.job.id).toBe(job?.id);
    await h.close();
  });
});
