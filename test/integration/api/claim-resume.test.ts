/**
 * An answer job continues the agent's session only on the runner that holds it (issue 14, part 2):
 * the runner API's claim carries `resume` for the runner that ran the asking job, and the store
 * keeps the job for that runner for `ANSWER_PREFERS_ASKER_MS`, after which another runner gets it
 * without `resume` (a fresh session with the summary). The answer job is queued with the option
 * the app's task commit passes (src/tasks/commit.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ANSWER_PREFERS_ASKER_MS } from "../../../src/domain/question.js";
import { startHarness, type Harness } from "./harness.js";

describe("runner API: an answer job's session", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** Runner A claims the task's job and stops with a question, reporting its CLI's session. */
  async function askedOnA() {
    const a = await h.registerRunner({ name: "runner-a", agents: ["claude"] });
    const b = await h.registerRunner({ name: "runner-b", agents: ["claude"] });
    const jobId = await h.queueJob({}, "implement");
    const claimed = await a.client.claim({ waitSeconds: 0 });
    expect(claimed?.job.id).toBe(jobId);
    expect(claimed?.job.resume).toBeUndefined();
    await a.client.complete(jobId, {
      leaseToken: claimed?.lease.token ?? "",
      outcome: { status: "needs-input", question: "Round floats?", sessionId: "sess-a-1" },
    });
    const task = (await h.store.getJob(jobId))?.taskId ?? 0;
    const answer = await h.store.enqueueJob({
      taskId: task,
      kind: "answer",
      input: JSON.stringify({ question: "Round floats?", answer: "No." }),
      preferAskingRunnerMs: ANSWER_PREFERS_ASKER_MS,
    });
    return { a, b, answer };
  }

  it("hands the answer job to the asking runner with the session to resume", async () => {
    const { a, b, answer } = await askedOnA();

    expect(await b.client.claim({ waitSeconds: 0 })).toBeUndefined();
    const claimed = await a.client.claim({ waitSeconds: 0 });

    expect(claimed?.job).toMatchObject({ id: answer.id, kind: "answer" });
    expect(claimed?.job.resume).toEqual({ sessionId: "sess-a-1" });
  });

  it("gives it to another runner after the grace, without the session it does not hold", async () => {
    const { b, answer } = await askedOnA();

    h.clock.advance(ANSWER_PREFERS_ASKER_MS);
    const claimed = await b.client.claim({ waitSeconds: 0 });

    expect(claimed?.job.id).toBe(answer.id);
    expect(claimed?.job.resume).toBeUndefined();
    expect(claimed?.job.history?.at(-1)).toMatchObject({ outcome: "needs-input" });
  });
});
