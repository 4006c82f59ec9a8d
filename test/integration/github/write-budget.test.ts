/**
 * The write budget against the simulator with GitHub's limits on (issue 15, part 2): the real
 * Probot Octokit of an installation, kanbot's GitHub port on it, and `useWriteBudget` as
 * src/github/installations.ts installs it. The simulator admits 3 content-generating requests a
 * minute, fewer than kanbot's own budget, so GitHub's answer (403, `retry-after`) is what stops
 * the writes: kanbot pauses the installation and sends the refused writes again after the pause;
 * every comment is made exactly once. The simulator's clock and kanbot's timers are moved by hand
 * together (kanbot's `Date` and timers are faked), so nothing sleeps.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { createGitHubPort } from "../../../src/github/octokit-port.js";
import { InstallationWriteBudget, useWriteBudget } from "../../../src/github/write-budget.js";
import { ORG, REPO, startFixture, type Fixture } from "../simulator/fixture.js";

const DAY_MS = 24 * 3_600_000;

describe("the write budget under GitHub's secondary limit", () => {
  let now = Date.now();
  let fx: Fixture;
  let token: string;

  beforeAll(async () => {
    fx = await startFixture({
      limits: { contentPerMinute: 3 },
      now: () => new Date(now),
      tokenLifetimeMs: DAY_MS,
    });
    token = await fx.mintToken();
  });
  afterAll(async () => {
    await fx.stop();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("pauses the installation's writes on a 403 with retry-after and loses none", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], shouldAdvanceTime: true });
    const octokit = fx.octokit(token);
    const budget = new InstallationWriteBudget(fx.installationId);
    useWriteBudget(octokit, budget, pino({ level: "silent" }));
    const port = createGitHubPort(octokit, { log: pino({ level: "silent" }) });
    const issue = { owner: ORG, repo: REPO, number: 0 };
    issue.number = (
      await octokit.rest.issues.create({ owner: ORG, repo: REPO, title: "Budget" })
    ).data.number;

    const comments = Promise.all(
      [1, 2, 3, 4, 5].map((n) => port.createComment(issue, `comment ${n}`)),
    );
    // The issue and two comments fit in GitHub's minute; the other three are refused.
    await vi.waitFor(() => expect(budget.pausedForMs()).toBeGreaterThan(0));
    expect(fx.sim.limits.refusals.length).toBeGreaterThan(0);
    const refusal = fx.sim.limits.refusals[0];
    expect(refusal).toMatchObject({ limit: "content-per-minute" });

    // GitHub's minute passes: the refused writes go out again after the pause.
    now += 61_000;
    await vi.advanceTimersByTimeAsync(61_000);
    const made = await comments;

    expect(made.map((comment) => comment.body).sort()).toEqual([
      "comment 1",
      "comment 2",
      "comment 3",
      "comment 4",
      "comment 5",
    ]);
    const onGitHub = await octokit.rest.issues.listComments({
      owner: ORG,
      repo: REPO,
      issue_number: issue.number,
    });
    expect(onGitHub.data.map((comment) => comment.body).sort()).toEqual(
      made.map((comment) => comment.body).sort(),
    );
    expect(fx.sim.violations).toEqual([]);
  });
});
