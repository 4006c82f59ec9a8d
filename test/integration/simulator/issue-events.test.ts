/**
 * The simulator's `GET /repos/{owner}/{repo}/issues/{issue_number}/events`: every label added or
 * removed (by a person or by the app's installation token) is listed, oldest first, in GitHub's
 * `labeled-issue-event` / `unlabeled-issue-event` shapes (checked against the OpenAPI
 * description: a mismatch would be a recorded violation), paginated as GitHub does; kanbot's
 * port reads the newest labeler from it.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { createGitHubPort } from "../../../src/github/octokit-port.js";
import { FULL, MAINTAINER, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

const repo = { owner: ORG, repo: REPO };

describe("simulator: issue events", () => {
  let fx: Fixture;
  let token: string;

  beforeAll(async () => {
    fx = await startFixture();
    token = await fx.mintToken();
  });
  afterAll(async () => {
    await fx.stop();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  it("lists who added and removed each label, people and the app, oldest first", async () => {
    const octokit = fx.octokit(token);
    const maintainer = fx.sim.actAs(MAINTAINER);
    fx.sim.addCollaborator(FULL, "carol", "write");
    const number = await maintainer.createIssue(FULL, { title: "Add a widget" });
    await maintainer.labelIssue(FULL, number, "agent:ready");
    // The app swaps the label through its installation token, as kanbot does.
    await octokit.rest.issues.addLabels({
      ...repo,
      issue_number: number,
      labels: ["agent:queued"],
    });
    await octokit.rest.issues.removeLabel({ ...repo, issue_number: number, name: "agent:ready" });
    await fx.sim.actAs("carol").labelIssue(FULL, number, "Agent:Ready");

    const events = await octokit.paginate(octokit.rest.issues.listEvents, {
      ...repo,
      issue_number: number,
      per_page: 100,
    });
    const missing = await octokit.rest.issues
      .listEvents({ ...repo, issue_number: 9999 })
      .catch((error: { status: number }) => error);

    const bot = "kanbot[bot]";
    expect(
      events.map((event) => [
        event.event,
        "label" in event ? event.label.name : undefined,
        event.actor.login,
        event.performed_via_github_app?.slug ?? null,
      ]),
    ).toEqual([
      ["labeled", "agent:ready", MAINTAINER, null],
      ["labeled", "agent:queued", bot, "kanbot"],
      ["unlabeled", "agent:ready", bot, "kanbot"],
      // The label keeps the spelling it was created with, as on GitHub.
      ["labeled", "agent:ready", "carol", null],
    ]);
    expect(events[0]).toMatchObject({
      url: expect.stringMatching(new RegExp(`/repos/${FULL}/issues/events/${events[0]?.id}$`)),
      commit_id: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      label: { color: expect.stringMatching(/^[0-9a-f]{6}$/) },
    });
    expect(new Set(events.map((event) => event.id)).size).toBe(4);
    expect(missing).toMatchObject({ status: 404 });
  });

  it("kanbot's port reads the newest labeler across pages, whatever the label's case", async () => {
    const octokit = fx.octokit(token);
    const port = createGitHubPort(octokit, { log: pino({ level: "silent" }) });
    const maintainer = fx.sim.actAs(MAINTAINER);
    fx.sim.addCollaborator(FULL, "dave", "write");
    const number = await maintainer.createIssue(FULL, { title: "Many label changes" });
    await fx.sim.actAs("dave").labelIssue(FULL, number, "agent:ready");
    // 120 more events push the newest labeled event of agent:ready to the second page.
    for (let i = 0; i < 60; i++) {
      await maintainer.labelIssue(FULL, number, "triage");
      await maintainer.unlabelIssue(FULL, number, "triage");
    }
    const onFirstPage = await port.lastLabeler({ ...repo, number }, "AGENT:READY");
    await maintainer.unlabelIssue(FULL, number, "agent:ready");
    await maintainer.labelIssue(FULL, number, "agent:ready");
    const unlabeled = await maintainer.createIssue(FULL, { title: "Never labeled" });

    expect(onFirstPage).toBe("dave");
    expect(await port.lastLabeler({ ...repo, number }, "agent:ready")).toBe(MAINTAINER);
    expect(await port.lastLabeler({ ...repo, number }, "triage")).toBe(MAINTAINER);
    expect(await port.lastLabeler({ ...repo, number: unlabeled }, "agent:ready")).toBeUndefined();
    expect(await port.lastLabeler({ ...repo, number: 9999 }, "agent:ready")).toBeUndefined();
  });
});
