import nock from "nock";
import { afterAll, describe, expect, it } from "vitest";
import { GITHUB_API_URL, setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  cleanupHarnessFolders,
  createHarness,
  labeledPayload,
  tempDatabasePath,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

describe("the durable inbox", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("answers the webhook at once while GitHub has not answered the worker yet", async () => {
    // GitHub answers only when the test lets it (standing in for an answer after 30 s, without a
    // test that waits 30 s); the assertions are about the order of events, never about time.
    const h = await createHarness(gh);
    const events: string[] = [];
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    let githubAnswered = false;
    const requested = new Promise<void>((resolve) => {
      nock(GITHUB_API_URL)
        .get("/app")
        .reply(async () => {
          events.push("GitHub asked");
          resolve();
          await held;
          githubAnswered = true;
          return [503, { message: "Service Unavailable" }];
        });
    });
    h.runtime.worker.start();

    await h.receive("issues", labeledPayload());
    events.push(githubAnswered ? "webhook answered after GitHub" : "webhook answered");
    await requested;
    const whileWaiting = await h.store.listDeliveries();
    answer();
    await h.close();

    expect(events).toContain("webhook answered");
    expect(events).toContain("GitHub asked");
    expect(whileWaiting[0]).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("processes after a restart an event answered but not processed before the app stopped", async () => {
    const databasePath = tempDatabasePath();
    const before = await createHarness(gh, { databasePath });
    await before.receive("issues", labeledPayload());
    await before.close();

    const after = await createHarness(gh, { databasePath });
    triggerMocks(gh, ghp);
    const processed = await after.drain();

    expect(processed).toBe(1);
    expect(await after.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({
      state: "queued",
    });
    expect((await after.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    await after.close();
  });
});
