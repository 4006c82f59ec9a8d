/**
 * A job waiting out its backoff (a retry after a failure) is queued before it is claimable, so
 * the wake-up its enqueue sent found nothing. When its time comes, a claim that is already
 * waiting must get it then, not only when the claim's own wait runs out and the runner asks
 * again.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "./harness.js";

describe("runner API: a retry's backoff ending wakes a waiting claim", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it("hands the job to the claim that waits when its not-before time comes", async () => {
    // The claim would wait 60 s; the job is due 300 ms after it starts waiting.
    h = await startHarness({ limits: { claimTimeoutMs: 60_000 } });
    const harness = h;
    const { task } = await harness.store.upsertTask({
      repo: "acme/widgets",
      installationId: 1,
      issueNumber: 1,
      title: "Retry me",
      body: "",
      state: "queued",
      agent: "claude",
      budget: { attempts: 5, minutes: 60, usd: 10 },
    });
    const job = await harness.store.enqueueJob({
      taskId: task.id,
      kind: "implement",
      notBefore: new Date(harness.clock.now().getTime() + 300),
    });
    const due = vi.spyOn(harness.store, "nextJobDueInMs");
    const { client } = await harness.registerRunner();

    const claim = client.claim();
    await vi.waitFor(() => expect(due).toHaveBeenCalled());
    expect(await due.mock.results[0]?.value).toBe(300);
    // The store's clock reaches the job's time as the API's timer runs out.
    harness.clock.advance(300);

    const answer = await claim;
    expect(answer?.job.id).toBe(job.id);
    expect(harness.api.waitingClaims).toBe(0);
  });

  it("does not wake anyone for a queue without jobs waiting out a backoff", async () => {
    h = await startHarness({ limits: { claimTimeoutMs: 200 } });
    expect(await h.store.nextJobDueInMs()).toBeUndefined();
    const { client } = await h.registerRunner();
    expect(await client.claim()).toBeUndefined();
  });
});
