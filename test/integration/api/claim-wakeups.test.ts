import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createQueueSignal, type ClaimCapabilities } from "../../../src/api/queue-signal.js";
import type { RunnerApiClient } from "../../../runner/client.js";
import { startHarness, type Harness } from "./harness.js";

type Claim = ReturnType<RunnerApiClient["claim"]>;

describe("runner API: waking waiting claims", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** Starts one waiting claim per runner, in this order (each is waiting before the next starts). */
  async function waitInLine(
    runners: Partial<{ agents: string[]; labels: string[] }>[],
    harness: Harness = h,
  ): Promise<Claim[]> {
    const claims: Claim[] = [];
    for (const runner of runners) {
      const { client } = await harness.registerRunner(runner);
      const waitingBefore = harness.api.waitingClaims;
      claims.push(client.claim());
      await vi.waitFor(() => expect(harness.api.waitingClaims).toBe(waitingBefore + 1));
    }
    return claims;
  }

  it("wakes only the longest waiter for one queued job: one claim transaction", async () => {
    const claims = await waitInLine(Array.from({ length: 8 }, () => ({ agents: ["claude"] })));
    const claimJob = vi.spyOn(h.store, "claimJob");

    const jobId = await h.queueJob();

    expect((await claims[0])?.job.id).toBe(jobId);
    expect(claimJob).toHaveBeenCalledTimes(1);
    expect(h.api.waitingClaims).toBe(7);

    await h.api.stop();
    expect(await Promise.all(claims.slice(1))).toEqual(Array(7).fill(undefined));
    expect(claimJob).toHaveBeenCalledTimes(1);
  });

  it("passes the wake-up on from a waiter that cannot take the job to one that can", async () => {
    const claims = await waitInLine([
      { agents: ["claude"] },
      { agents: ["claude"] },
      { agents: ["codex"] },
      { agents: ["codex", "claude"] },
    ]);
    const claimJob = vi.spyOn(h.store, "claimJob");

    const jobId = await h.queueJob({ agent: "codex" });

    expect((await claims[2])?.job.id).toBe(jobId);
    // The first claude waiter tried and found nothing; the second, which offers no more, was
    // skipped; the codex waiter took it; the last one was never woken.
    expect(claimJob.mock.calls.map(([capabilities]) => capabilities.agents)).toEqual([
      ["claude"],
      ["codex"],
    ]);
    expect(h.api.waitingClaims).toBe(3);
  });

  it("passes the wake-up on to a waiter with the labels the job needs", async () => {
    const claims = await waitInLine([{ labels: [] }, { labels: ["gpu"] }]);
    const claimJob = vi.spyOn(h.store, "claimJob");

    const jobId = await h.queueJob({ requiredLabels: ["gpu"] });

    expect((await claims[1])?.job.id).toBe(jobId);
    expect(claimJob).toHaveBeenCalledTimes(2);
    expect(h.api.waitingClaims).toBe(1);
  });

  it("hands out N jobs queued together to N waiters", async () => {
    const claims = await waitInLine(Array.from({ length: 5 }, () => ({})));

    const jobIds = await Promise.all(Array.from({ length: 5 }, () => h.queueJob()));

    const claimed = await Promise.all(claims);
    expect(claimed.map((answer) => answer?.job.id).sort()).toEqual([...jobIds].sort());
    expect(h.api.waitingClaims).toBe(0);
  });

  it("hands out jobs for different agents to the waiters that can take them", async () => {
    const claims = await waitInLine([
      { agents: ["claude"] },
      { agents: ["codex"] },
      { agents: ["claude"] },
      { agents: ["codex"] },
    ]);

    const codex = await h.queueJob({ agent: "codex" });
    const claude = await h.queueJob({ agent: "claude" });
    const codex2 = await h.queueJob({ agent: "codex" });
    const claude2 = await h.queueJob({ agent: "claude" });

    const claimed = (await Promise.all(claims)).map((answer) => answer?.job);
    expect(claimed.map((job) => job?.agent)).toEqual(["claude", "codex", "claude", "codex"]);
    expect(claimed.map((job) => job?.id).sort()).toEqual([codex, claude, codex2, claude2].sort());
  });

  it("a sweep wakes nobody; each retry the task loop queues for a lost job wakes one waiter", async () => {
    const holders = [await h.registerRunner(), await h.registerRunner()];
    await h.queueJob();
    await h.queueJob();
    for (const holder of holders)
      expect(await holder.client.claim({ waitSeconds: 0 })).toBeDefined();
    const claims = await waitInLine([{}, {}, {}]);

    h.clock.advance(61_000);
    const sweep = await h.api.sweep();

    expect(sweep.lost).toHaveLength(2);
    expect(h.api.waitingClaims).toBe(3);
    // What the task machine's job-lost does for each: one retry of the same kind.
    const retries = [];
    for (const lost of sweep.lost) {
      retries.push(await h.store.enqueueJob({ taskId: lost.taskId, kind: lost.kind }));
    }
    const claimed = await Promise.all(claims.slice(0, 2));
    expect(claimed.map((answer) => answer?.job.id).sort()).toEqual(
      retries.map((job) => job.id).sort(),
    );
    expect(h.api.waitingClaims).toBe(1);
  });

  it("removes a waiter whose claim timed out: the next job wakes one still waiting", async () => {
    const { client: early } = await h.registerRunner();
    const timingOut = early.claim({ waitSeconds: 1 });
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));
    const [first, second] = await waitInLine([{}, {}]);

    expect(await timingOut).toBeUndefined();
    expect(h.api.waitingClaims).toBe(2);
    const claimJob = vi.spyOn(h.store, "claimJob");

    const jobId = await h.queueJob();

    expect((await first)?.job.id).toBe(jobId);
    expect(claimJob).toHaveBeenCalledTimes(1);
    await h.api.stop();
    expect(await second).toBeUndefined();
  });

  it("takes a disconnected runner out of the line: the next job wakes one still waiting", async () => {
    const { client } = await h.registerRunner();
    const abort = new AbortController();
    const leaving = client.claim({}, { signal: abort.signal });
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));
    const [staying] = await waitInLine([{}]);
    abort.abort();
    await expect(leaving).rejects.toThrow();
    await vi.waitFor(() => expect(h.api.waitingClaims).toBe(1));

    const jobId = await h.queueJob();

    expect((await staying)?.job.id).toBe(jobId);
  });
});

describe("runner API: wake-ups from another replica", () => {
  it("wakes one waiter when the store reports a job queued elsewhere (LISTEN/NOTIFY)", async () => {
    // The API subscribes through a proxy that keeps its listeners: the test calls them as the
    // Postgres LISTEN connection does for another replica's NOTIFY. The enqueue itself, through
    // the store, does not reach them (as a job queued by another replica would not).
    const listeners: (() => void)[] = [];
    const h = await startHarness({
      apiStore: (store) =>
        new Proxy(store, {
          get(target, property) {
            if (property === "onJobQueued") {
              return (listener: () => void) => {
                listeners.push(listener);
                return () => listeners.splice(listeners.indexOf(listener), 1);
              };
            }
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
    });
    try {
      const claims: ReturnType<RunnerApiClient["claim"]>[] = [];
      for (let i = 0; i < 3; i++) {
        const { client } = await h.registerRunner();
        claims.push(client.claim());
        await vi.waitFor(() => expect(h.api.waitingClaims).toBe(i + 1));
      }
      const claimJob = vi.spyOn(h.store, "claimJob");
      const jobId = await h.queueJob();
      expect(h.api.waitingClaims).toBe(3);

      for (const listener of listeners) listener();

      expect((await claims[0])?.job.id).toBe(jobId);
      expect(claimJob).toHaveBeenCalledTimes(1);
      expect(h.api.waitingClaims).toBe(2);
      await h.api.stop();
      expect(await Promise.all(claims.slice(1))).toEqual([undefined, undefined]);
    } finally {
      await h.close();
    }
  });
});

describe("queue signal", () => {
  const claude: ClaimCapabilities = { agents: ["claude"], labels: [], repos: [] };
  const codex: ClaimCapabilities = { agents: ["codex"], labels: [], repos: [] };
  const never = new AbortController().signal;
  const LONG = 3_600_000;

  function waiter(signal: ReturnType<typeof createQueueSignal>, caps: ClaimCapabilities) {
    const place = signal.join(caps);
    place.trying();
    const state = { woken: undefined as boolean | undefined, place };
    const wait = () => {
      state.woken = undefined;
      const abort = new AbortController();
      const done = place.wait(LONG, abort.signal).then((woken) => (state.woken = woken));
      return { done, stop: () => abort.abort() };
    };
    return { state, place, wait };
  }

  it("wakes waiters in the order they joined, one per notify", async () => {
    const q = createQueueSignal();
    const [a, b, c] = [waiter(q, claude), waiter(q, claude), waiter(q, claude)];
    const waits = [a.wait(), b.wait(), c.wait()];
    expect(q.waiting).toBe(3);

    q.notify();
    expect(await waits[0]?.done).toBe(true);
    expect(q.waiting).toBe(2);
    q.notify();
    expect(await waits[1]?.done).toBe(true);
    expect(q.waiting).toBe(1);
    expect(c.state.woken).toBeUndefined();

    waits[2]?.stop();
    expect(await waits[2]?.done).toBe(false);
    expect(q.waiting).toBe(0);
  });

  it("drops a wake-up that every waiter able to take it has tried (someone else took the job)", async () => {
    const q = createQueueSignal();
    const [a, b] = [waiter(q, claude), waiter(q, claude)];
    const first = a.wait();
    const second = b.wait();

    q.notify();
    expect(await first.done).toBe(true);
    a.place.trying();
    a.place.foundNothing();

    expect(q.waiting).toBe(1);
    expect(b.state.woken).toBeUndefined();
    second.stop();
    expect(await second.done).toBe(false);
  });

  it("passes a wake-up on when its holder found nothing, skipping waiters that offer no more", async () => {
    const q = createQueueSignal();
    const [a, b, c] = [waiter(q, claude), waiter(q, claude), waiter(q, codex)];
    const waits = [a.wait(), b.wait(), c.wait()];

    q.notify();
    expect(await waits[0]?.done).toBe(true);
    a.place.trying();
    a.place.foundNothing();

    expect(await waits[2]?.done).toBe(true);
    expect(b.state.woken).toBeUndefined();
    expect(q.waiting).toBe(1);
    waits[1]?.stop();
  });

  it("passes on the wake-up of a place that leaves before trying", async () => {
    const q = createQueueSignal();
    const [a, b] = [waiter(q, claude), waiter(q, claude)];
    const waits = [a.wait(), b.wait()];

    q.notify();
    expect(await waits[0]?.done).toBe(true);
    a.place.leave();

    expect(await waits[1]?.done).toBe(true);
  });

  it("keeps a claimed wake-up: the next waiter sleeps on", async () => {
    const q = createQueueSignal();
    const [a, b] = [waiter(q, claude), waiter(q, claude)];
    const waits = [a.wait(), b.wait()];

    q.notify();
    expect(await waits[0]?.done).toBe(true);
    a.place.trying();
    a.place.claimed();
    a.place.leave();

    expect(q.waiting).toBe(1);
    waits[1]?.stop();
    expect(await waits[1]?.done).toBe(false);
  });

  it("returns at once from a wait when a notify came while the claim was trying", async () => {
    const q = createQueueSignal();
    const place = q.join(claude);
    place.trying();
    q.notify();
    place.foundNothing();

    expect(await place.wait(LONG, never)).toBe(true);
    expect(q.waiting).toBe(0);
  });
});
