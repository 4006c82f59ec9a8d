/**
 * Recovering what GitHub sent while kanbot was down: the app is killed, the maintainer labels
 * two issues `agent:ready` (the simulator records both `issues.labeled` deliveries as failed:
 * connection refused), and the app starts again. At start it lists the app's webhook
 * deliveries as the app, asks GitHub to redeliver the failed ones, and both tasks run to a PR.
 */
import { describe, expect, it } from "vitest";

import { REPO } from "./harness.js";
import { useE2E } from "./steps.js";

const FIRST = "Add square";
const SECOND = "Add cube";

describe("end to end: webhooks sent while the app was down are redelivered", () => {
  const harness = useE2E();

  it("picks up both issues labeled while the app was down", async () => {
    const e2e = harness();
    e2e.script(FIRST, [
      { files: { "src/square.js": "export const square = (x) => x * x;\n" }, say: "square" },
    ]);
    e2e.script(SECOND, [
      { files: { "src/cube.js": "export const cube = (x) => x * x * x;\n" }, say: "cube" },
    ]);
    const first = await e2e.fileIssue(FIRST, "Add `square(x)` in src/square.js.");
    const second = await e2e.fileIssue(SECOND, "Add `cube(x)` in src/cube.js.");
    await e2e.sim.idle();

    await e2e.killApp();
    await e2e.maintainer.labelIssue(REPO, first, "agent:ready");
    await e2e.maintainer.labelIssue(REPO, second, "agent:ready");
    await e2e.sim.idle();
    const labeled = e2e.sim.deliveries.filter(
      (delivery) => delivery.event === "issues" && delivery.action === "labeled",
    );
    // GitHub could not reach the app: both deliveries failed and nothing retries them by itself.
    expect(labeled.map((delivery) => [delivery.status, delivery.error !== undefined])).toEqual([
      [0, true],
      [0, true],
    ]);
    expect(e2e.pullFor(first)).toBeUndefined();

    await e2e.startApp();
    await e2e.waitFor(
      "a PR for each issue labeled while the app was down",
      () => e2e.pullFor(first) !== undefined && e2e.pullFor(second) !== undefined,
      { timeoutMs: 120_000 },
    );

    // Each failed delivery was redelivered once, with the same guid, and answered this time.
    const guids = labeled.map((delivery) => delivery.id);
    const redeliveries = e2e.sim.deliveries.filter((delivery) => delivery.redelivery);
    expect(redeliveries.map((delivery) => [delivery.id, delivery.status])).toEqual(
      guids.map((guid) => [guid, 200]),
    );
    expect(e2e.logs(400)).toMatch(/webhook redelivery sweep finished.*redelivered=2/);
    // One PR per issue.
    const pulls = [...e2e.sim.state.mustRepo(REPO).pulls.values()];
    expect(pulls.map((pull) => pull.head.split("-")[0]).sort()).toEqual(
      [`kanbot/${first}`, `kanbot/${second}`].sort(),
    );
    expect(e2e.sim.violations).toEqual([]);
  });
});
