import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { FULL, MAINTAINER, ORG, REPO, startFixture, type Fixture } from "./fixture.js";

const repo = { owner: ORG, repo: REPO };

describe("simulator: issues, labels, comments and pull requests", () => {
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

  it("serves issues, labels and comments, with the webhooks a maintainer's actions send", async () => {
    const octokit = fx.octokit(token);
    const person = fx.sim.actAs(MAINTAINER);
    const number = await person.createIssue(FULL, {
      title: "Add a widget",
      body: "depends on nothing",
    });
    await person.labelIssue(FULL, number, "agent:ready");

    await octokit.rest.issues.createLabel({ ...repo, name: "agent:queued", color: "ededed" });
    const duplicate = await octokit.rest.issues
      .createLabel({ ...repo, name: "agent:queued", color: "ededed" })
      .catch((error: { status: number }) => error);
    await octokit.rest.issues.removeLabel({ ...repo, issue_number: number, name: "agent:ready" });
    await octokit.rest.issues.addLabels({
      ...repo,
      issue_number: number,
      labels: ["agent:queued"],
    });
    const { data: comment } = await octokit.rest.issues.createComment({
      ...repo,
      issue_number: number,
      body: "queued",
    });
    await octokit.rest.issues.updateComment({ ...repo, comment_id: comment.id, body: "working" });
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      ...repo,
      issue_number: number,
      per_page: 100,
    });
    const labelled = await octokit.paginate(octokit.rest.issues.listForRepo, {
      ...repo,
      labels: "agent:queued",
      state: "all",
      per_page: 100,
    });
    const missing = await octokit.rest.issues
      .removeLabel({ ...repo, issue_number: number, name: "agent:ready" })
      .catch((error: { status: number }) => error);
    await person.comment(FULL, number, "/kanbot status");
    await person.closeIssue(FULL, number, "not_planned");
    const { data: closed } = await octokit.rest.issues.get({ ...repo, issue_number: number });
    const { data: permission } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: MAINTAINER,
    });
    const { data: readme } = await octokit.rest.repos.getContent({
      ...repo,
      path: "README.md",
      mediaType: { format: "raw" },
    });
    await fx.until(() => fx.hooks.length >= 7, "the issue webhooks");

    expect(duplicate).toMatchObject({ status: 422 });
    expect(missing).toMatchObject({ status: 404 });
    expect(comments.map((entry) => entry.body)).toEqual(["working"]);
    expect(labelled.map((issue) => issue.number)).toEqual([number]);
    expect(closed).toMatchObject({
      state: "closed",
      state_reason: "not_planned",
      labels: [{ name: "agent:queued" }],
    });
    expect(permission).toMatchObject({ role_name: "maintain", permission: "write" });
    expect(readme).toBe("# widgets\n");
    expect(
      fx.hooks.map(
        (hook) =>
          `${hook.event}.${hook.action}:${String((hook.payload.sender as { login: string }).login)}`,
      ),
    ).toEqual([
      `issues.opened:${MAINTAINER}`,
      `issues.labeled:${MAINTAINER}`,
      "issues.unlabeled:kanbot[bot]",
      "issues.labeled:kanbot[bot]",
      "issue_comment.created:kanbot[bot]",
      "issue_comment.edited:kanbot[bot]",
      `issue_comment.created:${MAINTAINER}`,
      `issues.closed:${MAINTAINER}`,
    ]);
    expect(fx.hooks.every((hook) => hook.signatureValid)).toBe(true);
    expect(fx.hooks[0]?.headers).toMatchObject({
      "x-github-hook-id": expect.any(String),
      "x-github-delivery": expect.any(String),
      "user-agent": expect.stringMatching(/^GitHub-Hookshot\//),
    });
    expect(fx.hooks[0]?.payload).toMatchObject({
      installation: { id: fx.installationId },
      organization: { login: ORG },
      repository: { full_name: FULL },
    });
  });

  it("serves dependencies and sub-issues", async () => {
    const octokit = fx.octokit(token);
    const person = fx.sim.actAs(MAINTAINER);
    const blocker = await person.createIssue(FULL, { title: "Blocker" });
    const blocked = await person.createIssue(FULL, { title: "Blocked" });
    fx.sim.addBlockedBy(FULL, blocked, blocker);
    fx.sim.addSubIssue(FULL, blocker, blocked);

    const blockers = await octokit.paginate(octokit.rest.issues.listDependenciesBlockedBy, {
      ...repo,
      issue_number: blocked,
      per_page: 100,
    });
    const children = await octokit.paginate(octokit.rest.issues.listSubIssues, {
      ...repo,
      issue_number: blocker,
      per_page: 100,
    });

    expect(blockers.map((issue) => issue.number)).toEqual([blocker]);
    expect(children.map((issue) => issue.number)).toEqual([blocked]);
  });

  it("opens pull requests and refuses what GitHub refuses: a second one (422), merging a draft or failed checks (405)", async () => {
    const octokit = fx.octokit(token);
    const person = fx.sim.actAs(MAINTAINER);
    fx.sim.protectBranch(FULL, "main", { requiredChecks: ["test"] });
    const issue = await person.createIssue(FULL, { title: "Task" });
    const headSha = await person.push(
      FULL,
      "kanbot/task",
      { "widget.txt": "one\n" },
      "add a widget",
    );

    const { data: pull } = await octokit.rest.pulls.create({
      ...repo,
      head: "kanbot/task",
      base: "main",
      title: "Task",
      body: `Closes #${issue}`,
      draft: true,
    });
    const second = await octokit.rest.pulls
      .create({ ...repo, head: "kanbot/task", base: "main", title: "Again" })
      .catch((error: { status: number; response?: { data?: unknown } }) => error);
    const draftMerge = await octokit.rest.pulls
      .merge({ ...repo, pull_number: pull.number })
      .catch((error: { status: number }) => error);
    await octokit.graphql(
      `mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }`,
      { id: pull.node_id },
    );
    const { data: run } = await octokit.rest.checks.create({
      ...repo,
      name: "test",
      head_sha: headSha,
      status: "completed",
      conclusion: "failure",
    });
    const failedMerge = await octokit.rest.pulls
      .merge({ ...repo, pull_number: pull.number })
      .catch((error: { status: number; message: string }) => error);
    await octokit.rest.checks.update({
      ...repo,
      check_run_id: run.id,
      status: "completed",
      conclusion: "success",
    });
    const reviewers = await octokit.rest.pulls.requestReviewers({
      ...repo,
      pull_number: pull.number,
      reviewers: [MAINTAINER],
    });
    await person.approve(FULL, pull.number, "ship it");
    const { data: open } = await octokit.rest.pulls.get({ ...repo, pull_number: pull.number });
    const protection = await octokit.rest.repos
      .getStatusChecksProtection({ ...repo, branch: "main" })
      .catch((error: { status: number }) => error);
    const rules = await octokit.paginate(octokit.rest.repos.getBranchRules, {
      ...repo,
      branch: "main",
      per_page: 100,
    });
    const wrongSha = await octokit.rest.pulls
      .merge({ ...repo, pull_number: pull.number, sha: "0".repeat(40) })
      .catch((error: { status: number }) => error);
    const { data: merged } = await octokit.rest.pulls.merge({
      ...repo,
      pull_number: pull.number,
      merge_method: "squash",
      sha: headSha,
    });
    await octokit.rest.git.deleteRef({ ...repo, ref: "heads/kanbot/task" });
    const gone = await octokit.rest.git
      .deleteRef({ ...repo, ref: "heads/kanbot/task" })
      .catch((error: { status: number }) => error);
    const listed = await octokit.paginate(octokit.rest.pulls.list, {
      ...repo,
      head: `${ORG}:kanbot/task`,
      state: "all",
      per_page: 100,
    });
    const isMerged = await octokit.rest.pulls.checkIfMerged({ ...repo, pull_number: pull.number });
    const runs = await octokit.paginate(octokit.rest.checks.listForRef, {
      ...repo,
      ref: headSha,
      filter: "all",
      per_page: 100,
    });
    await fx.until(() => fx.sim.issue(FULL, issue).state === "closed", "the linked issue to close");

    expect(second).toMatchObject({ status: 422 });
    expect(JSON.stringify((second as { response?: { data?: unknown } }).response?.data)).toMatch(
      /A pull request already exists/,
    );
    expect(draftMerge).toMatchObject({ status: 405 });
    expect(failedMerge).toMatchObject({
      status: 405,
      message: expect.stringMatching(/Required status check "test" is failing/),
    });
    expect(reviewers.status).toBe(201);
    expect(open).toMatchObject({
      draft: false,
      mergeable: true,
      mergeable_state: "clean",
      requested_reviewers: [],
    });
    // Classic protection needs the administration permission, which kanbot's app does not ask for.
    expect(protection).toMatchObject({ status: 403 });
    expect(rules).toMatchObject([
      {
        type: "required_status_checks",
        parameters: { required_status_checks: [{ context: "test" }] },
      },
    ]);
    expect(wrongSha).toMatchObject({ status: 409 });
    expect(merged.merged).toBe(true);
    expect(gone).toMatchObject({ status: 422 });
    expect(listed).toMatchObject([
      { number: pull.number, state: "closed", merged_at: expect.any(String) },
    ]);
    expect(isMerged.status).toBe(204);
    expect(runs.map((entry) => entry.conclusion)).toEqual(["success"]);
    expect(fx.sim.issue(FULL, issue).stateReason).toBe("completed");
    const events = fx.hooks.map((hook) => `${hook.event}.${hook.action ?? ""}`);
    expect(events).toEqual(
      expect.arrayContaining([
        "pull_request.opened",
        "pull_request.ready_for_review",
        "pull_request.review_requested",
        "pull_request_review.submitted",
        "pull_request.closed",
        "check_run.completed",
        "check_suite.completed",
        "push.",
      ]),
    );
  });

  it("refuses a review from the author and a review request to a stranger (422)", async () => {
    const person = fx.sim.actAs(MAINTAINER);
    await person.push(FULL, "feature", { "feature.txt": "x\n" }, "feature");
    const number = await person.openPullRequest(FULL, { head: "feature", title: "Feature" });
    const octokit = fx.octokit(token);

    const ownApproval = await person
      .approve(FULL, number)
      .catch((error: { status: number }) => error);
    const stranger = await octokit.rest.pulls
      .requestReviewers({ ...repo, pull_number: number, reviewers: ["stranger"] })
      .catch((error: { status: number }) => error);

    expect(ownApproval).toMatchObject({ status: 422 });
    expect(stranger).toMatchObject({ status: 422 });
  });
  it("serves a branch with its commit and the summary of classic protection, not of rulesets", async () => {
    const octokit = fx.octokit(token);
    fx.sim.protectBranch(FULL, "classic", {
      requiredChecks: ["build"],
      source: "branch-protection",
    });
    fx.sim.protectBranch(FULL, "main", { requiredChecks: ["test"] });
    const person = fx.sim.actAs(MAINTAINER);
    const sha = await person.push(FULL, "classic", { "a.txt": "a\n" }, "Add a");

    const { data: classic } = await octokit.rest.repos.getBranch({ ...repo, branch: "classic" });
    const { data: main } = await octokit.rest.repos.getBranch({ ...repo, branch: "main" });
    const missing = await octokit.rest.repos
      .getBranch({ ...repo, branch: "nope" })
      .catch((error: { status: number }) => error);

    expect(classic).toMatchObject({
      name: "classic",
      commit: { sha, commit: { message: "Add a" } },
      protected: true,
      protection: { enabled: true, required_status_checks: { contexts: ["build"] } },
    });
    expect(classic.commit.parents).toHaveLength(1);
    // The ruleset on main shows under rules/branches, not in the branch's protection summary.
    expect(main).toMatchObject({
      protected: false,
      protection: { enabled: false, required_status_checks: { contexts: [] } },
    });
    expect(missing).toMatchObject({ status: 404 });
  });
});
