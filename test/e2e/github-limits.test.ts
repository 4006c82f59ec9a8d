/**
 * One task from label to merge with the simulator enforcing GitHub's published rate limits
 * (issue 15, part 1): the real app and runner see GitHub's real `x-ratelimit-*` headers, no
 * request is refused, and the simulator's counts say what the task cost, by class.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { REPO, startE2E, type E2E } from "./harness.js";
import { mathWith, nodeTest } from "./steps.js";

const MULTIPLY = {
  "src/math.js": mathWith("return a * b;"),
  "test/multiply.test.js": nodeTest("multiply", "math.js", "assert.equal(multiply(4, 5), 20);"),
};

describe("end to end under GitHub's rate limits", () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({ limits: true });
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it("takes one task to Done with no request refused, and counts what it cost", async () => {
    e2e.script("Add multiply", [{ files: MULTIPLY, say: "Added multiply() with a test." }]);
    const issue = await e2e.fileIssue("Add multiply", "Add `multiply(a, b)` to src/math.js.");
    await e2e.maintainer.labelIssue(REPO, issue, "agent:ready");

    await e2e.waitFor(
      "the task to reach review",
      () => e2e.hasLabel(issue, "agent:review") && e2e.pullFor(issue)?.draft === false,
    );
    const pull = e2e.pullFor(issue);
    if (pull === undefined) throw new Error("no PR");
    await e2e.maintainer.approve(REPO, pull.number, "Looks good.");
    await e2e.maintainer.merge(REPO, pull.number);
    await e2e.waitFor(
      "the task to be done (label, card)",
      () => e2e.hasLabel(issue, "agent:done") && e2e.column(issue) === "Done",
    );

    const installations = e2e.sim.limits
      .clients()
      .filter((client) => client.startsWith("installation:"));
    const counts = e2e.sim.limits.total();
    expect(e2e.sim.limits.enabled).toBe(true);
    expect(e2e.sim.limits.refusals).toEqual([]);
    expect(installations).toHaveLength(1);
    expect(counts.limited).toBe(0);
    expect(counts["rest-read"]).toBeGreaterThan(0);
    expect(counts["rest-write"]).toBeGreaterThan(0);
    expect(counts["graphql-query"]).toBeGreaterThan(0);
    expect(counts["graphql-mutation"]).toBeGreaterThan(0);
    // Reads that rarely change are conditional (issue 15, part 4): the config, read by several
    // events of the task, is answered 304 after the first read, and a 304 is not counted.
    expect(counts["conditional-304"]).toBeGreaterThan(0);
    expect(e2e.sim.violations).toEqual([]);
  });
});
