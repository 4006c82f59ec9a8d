/**
 * The issue's view in one request (issue 15): kanbot's port sends `WriteIssueView`, one GraphQL
 * document of aliased mutations (labels out, labels in, the card's column, the comment's body).
 * The simulator carries each out with the same events and webhooks as the REST calls, and its
 * rate limiter counts the request as ONE content-generating request, as GitHub's request-based
 * secondary limit does, however many mutations it holds.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { createGitHubPort } from "../../../src/github/octokit-port.js";
import type { GitHubPort } from "../../../src/github/port.js";
import { FULL, MAINTAINER, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

const repo = { owner: ORG, repo: REPO };

describe("simulator: the issue's view in one GraphQL request", () => {
  let fx: Fixture;
  let port: GitHubPort;
  let client: string;

  beforeAll(async () => {
    fx = await startFixture({ limits: true });
    const token = await fx.mintToken();
    port = createGitHubPort(fx.octokit(token), { log: pino({ level: "silent" }) });
    client = `installation:${fx.installationId}`;
    fx.sim.addProject(ORG, {
      number: 3,
      title: "Board",
      fields: { Status: ["Ready", "In progress", "Done"] },
    });
  });
  afterAll(async () => {
    await fx.stop();
  });
  beforeEach(() => {
    fx.sim.limits.reset();
  });
  afterEach(() => {
    expect(fx.sim.violations).toEqual([]);
  });

  it("swaps the labels, moves the card and edits the comment in one content-generating request, with the REST calls' webhooks", async () => {
    const maintainer = fx.sim.actAs(MAINTAINER);
    const number = await maintainer.createIssue(FULL, { title: "A view", labels: ["agent:ready"] });
    await maintainer.labelIssue(FULL, number, "agent:queued", "bug");
    const ref = { ...repo, number };
    const issue = await port.getIssue(ref);
    const comment = await port.createComment(ref, "queued");
    const board = await port.findProject(ORG, 3);
    const item =
      board === undefined ? undefined : await port.addProjectItem(board, issue?.nodeId ?? "");
    const status = board?.fields.find((field) => field.name === "Status");
    const labels = await port.labelNodeIds(repo);
    const commentNodeId = await port.commentNodeId(repo, comment.id);
    await fx.until(
      () => fx.hooks.some((hook) => hook.event === "projects_v2_item" && hook.action === "created"),
      "the earlier writes' webhooks",
    );
    fx.sim.limits.reset();
    const hooksBefore = fx.hooks.length;

    await port.writeIssueView(ref, {
      issueNodeId: issue?.nodeId ?? "",
      removeLabelIds: [labels.get("agent:ready") ?? "", labels.get("agent:queued") ?? ""],
      addLabelIds: [labels.get("agent:queued") ?? "", labels.get("bug") ?? ""],
      card:
        board === undefined || item === undefined || status === undefined
          ? undefined
          : {
              board,
              itemId: item.id,
              fieldId: status.id,
              optionId: status.options.find((option) => option.name === "In progress")?.id ?? "",
            },
      comment: { nodeId: commentNodeId ?? "", body: "running" },
    });
    await fx.until(() => fx.hooks.length >= hooksBefore + 5, "the view's webhooks");

    // Removed first, then added: agent:queued goes out and comes back; `bug`, already there, stays.
    expect(fx.sim.issue(FULL, number).labels).toEqual(["bug", "agent:queued"]);
    expect(fx.sim.issue(FULL, number).comments.map((entry) => entry.body)).toEqual(["running"]);
    expect(fx.sim.limits.of(client)).toMatchObject({
      "graphql-mutation": 1,
      "rest-write": 0,
      limited: 0,
    });
    expect(
      fx.hooks.slice(hooksBefore).map((hook) => {
        const payload = hook.payload as { label?: { name: string }; comment?: { body: string } };
        return [hook.event, hook.action, payload.label?.name ?? payload.comment?.body];
      }),
    ).toEqual([
      ["issues", "unlabeled", "agent:ready"],
      ["issues", "unlabeled", "agent:queued"],
      ["issues", "labeled", "agent:queued"],
      ["projects_v2_item", "edited", undefined],
      ["issue_comment", "edited", "running"],
    ]);
    expect(
      fx.hooks
        .slice(hooksBefore)
        .map((hook) => (hook.payload as { sender?: { login: string } }).sender?.login),
    ).toEqual(Array(5).fill("kanbot[bot]"));
  });

  it("leaves a label a person added meanwhile, and a label already gone is no error", async () => {
    const maintainer = fx.sim.actAs(MAINTAINER);
    const number = await maintainer.createIssue(FULL, {
      title: "Shared",
      labels: ["agent:queued"],
    });
    const ref = { ...repo, number };
    const issue = await port.getIssue(ref);
    await maintainer.labelIssue(FULL, number, "priority:high");
    await maintainer.unlabelIssue(FULL, number, "agent:queued");
    await port.ensureLabels(repo, [{ name: "agent:running", color: "0e8a16", description: "" }]);
    const labels = await port.labelNodeIds(repo);
    fx.sim.limits.reset();

    await port.writeIssueView(ref, {
      issueNodeId: issue?.nodeId ?? "",
      removeLabelIds: [labels.get("agent:queued") ?? ""],
      addLabelIds: [labels.get("agent:running") ?? ""],
    });

    expect(fx.sim.issue(FULL, number).labels).toEqual(["priority:high", "agent:running"]);
    expect(fx.sim.limits.of(client)).toMatchObject({ "graphql-mutation": 1, limited: 0 });
  });
});
