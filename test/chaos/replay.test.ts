/**
 * Chaos (issue 13): the same trigger more than once, against the real app, a real runner and the
 * simulator: one delivery redelivered five times at once; the label taken off and put back at
 * once; the label and the card's move to Ready together. Each issue ends with one task, one
 * successful job, one PR and one progress comment.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { openStore } from "../../src/store/index.js";
import { REPO, type E2E } from "../e2e/harness.js";
import { useE2E } from "../e2e/steps.js";
import { progressComments, pullsOf } from "./steps.js";

async function jobsOf(e2e: E2E, issue: number): Promise<string[]> {
  const store = await openStore({ url: join(e2e.dir, "kanbot.sqlite") });
  try {
    const task = await store.findTask(REPO, issue);
    return task === undefined ? [] : (await store.listJobs(task.id)).map((job) => job.status);
  } finally {
    await store.close();
  }
}

describe("chaos: the same trigger more than once", () => {
  const harness = useE2E();

  async function issueWithScript(e2e: E2E, title: string, file: string): Promise<number> {
    e2e.script(title, [{ files: { [file]: `export const value = ${JSON.stringify(title)};\n` } }]);
    return e2e.fileIssue(title, `Export a value from ${file}.`);
  }

  async function expectOneOfEach(e2e: E2E, issue: number): Promise<void> {
    await e2e.waitFor(`issue #${issue} in review`, () => e2e.hasLabel(issue, "agent:review"), {
      timeoutMs: 120_000,
    });
    await e2e.sim.idle();
    const jobs = await jobsOf(e2e, issue);
    expect(jobs.filter((status) => status === "succeeded")).toHaveLength(1);
    expect(jobs.filter((status) => status === "queued" || status === "leased")).toEqual([]);
    expect(pullsOf(e2e, issue)).toBe(1);
    expect(progressComments(e2e, issue)).toBe(1);
  }

  it("one delivery redelivered five times at once: one task, one job, one PR, one comment", async () => {
    const e2e = harness();
    const issue = await issueWithScript(e2e, "Add alpha", "src/alpha.js");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");
    await e2e.sim.idle();
    const [labeled] = e2e.sim.deliveries.filter(
      (delivery) =>
        delivery.event === "issues" &&
        delivery.action === "labeled" &&
        (delivery.payload["issue"] as { number?: number }).number === issue,
    );
    expect(labeled).toBeDefined();
    for (let copy = 0; copy < 5; copy++) e2e.sim.github.hooks.redeliver(labeled?.deliveryId ?? 0);
    await e2e.sim.idle();
    const copies = e2e.sim.deliveries.filter((delivery) => delivery.id === labeled?.id);
    expect(copies.map((delivery) => delivery.status)).toEqual([200, 200, 200, 200, 200, 200]);

    await expectOneOfEach(e2e, issue);
    expect(await jobsOf(e2e, issue)).toEqual(["succeeded"]);
  });

  it("the label taken off and put back at once: one PR, one comment, one successful job", async () => {
    const e2e = harness();
    const issue = await issueWithScript(e2e, "Add beta", "src/beta.js");
    await Promise.all([
      e2e.maintainer.labelIssue(REPO, issue, "agent:ready"),
      e2e.maintainer.unlabelIssue(REPO, issue, "agent:ready").catch(() => undefined),
      e2e.maintainer.labelIssue(REPO, issue, "agent:ready"),
    ]);
    await expectOneOfEach(e2e, issue);
  });

  it("the label and the card's move to Ready together: one task, one job, one PR, one comment", async () => {
    const e2e = harness();
    const issue = await issueWithScript(e2e, "Add gamma", "src/gamma.js");
    await Promise.all([
      e2e.maintainer.labelIssue(REPO, issue, "agent:ready"),
      e2e.maintainer.moveCard(REPO, issue, "Ready"),
    ]);
    await expectOneOfEach(e2e, issue);
    expect(await jobsOf(e2e, issue)).toEqual(["succeeded"]);
    expect(e2e.sim.violations).toEqual([]);
  });
});
