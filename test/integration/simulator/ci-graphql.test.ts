import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { GRAPHQL_DOCUMENTS } from "../../../src/github/graphql.js";
import { PULL_REQUEST_GRAPHQL_DOCUMENTS } from "../../../src/github/pull-request-graphql.js";
import {
  authedGitUrl,
  FULL,
  MAINTAINER,
  ORG,
  REPO,
  startFixture,
  type Fixture,
} from "./fixture.js";

const repo = { owner: ORG, repo: REPO };

describe("simulator: git pushes, simulated CI, GraphQL and honesty", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await fx.stop();
  });

  describe("with no violation", () => {
    afterEach(() => {
      expect(fx.sim.violations).toEqual([]);
    });

    it("runs the repository's CI on a push over git and reports it as a check suite and run, with webhooks", async () => {
      const token = await fx.mintToken({
        repositories: [REPO],
        permissions: { contents: "write", pull_requests: "write", checks: "read" },
      });
      const work = fx.tempDir();
      await fx.git(work, "clone", "--quiet", authedGitUrl(fx.sim, FULL, token), "clone");
      const clone = `${work}/clone`;
      await fx.git(clone, "checkout", "--quiet", "-b", "kanbot/ci");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(`${clone}/.simulator-ci`, "test -f ok.txt && echo passed\n");
      await fx.git(clone, "add", ".");
      await fx.git(clone, "commit", "--quiet", "-m", "ci without ok.txt");
      await fx.git(clone, "push", "--quiet", "origin", "kanbot/ci");
      const failing = await fx.git(clone, "rev-parse", "HEAD");
      const octokit = fx.octokit(token);
      const { data: pull } = await octokit.rest.pulls.create({
        ...repo,
        head: "kanbot/ci",
        base: "main",
        title: "CI",
      });

      writeFileSync(`${clone}/ok.txt`, "ok\n");
      await fx.git(clone, "add", ".");
      await fx.git(clone, "commit", "--quiet", "-m", "add ok.txt");
      await fx.git(clone, "push", "--quiet", "origin", "kanbot/ci");
      const passing = await fx.git(clone, "rev-parse", "HEAD");
      await fx.until(() => fx.sim.ciRuns.length === 2, "two CI runs");
      const failed = await octokit.paginate(octokit.rest.checks.listForRef, {
        ...repo,
        ref: failing,
        per_page: 100,
      });
      const passed = await octokit.paginate(octokit.rest.checks.listSuitesForRef, {
        ...repo,
        ref: passing,
        per_page: 100,
      });
      const { data: synced } = await octokit.rest.pulls.get({ ...repo, pull_number: pull.number });

      expect(failed).toMatchObject([
        {
          name: "test",
          status: "completed",
          conclusion: "failure",
          app: { slug: "github-actions" },
        },
      ]);
      expect(passed).toMatchObject([
        { status: "completed", conclusion: "success", head_branch: "kanbot/ci" },
      ]);
      expect(synced.head.sha).toBe(passing);
      const forPassing = fx.hooks.filter(
        (hook) =>
          JSON.stringify(hook.payload).includes(passing) &&
          ["push", "pull_request", "check_run", "check_suite"].includes(hook.event),
      );
      expect(forPassing.map((hook) => `${hook.event}.${hook.action ?? ""}`)).toEqual([
        "push.",
        "pull_request.synchronize",
        "check_run.created",
        "check_run.completed",
        "check_suite.completed",
      ]);
      expect(forPassing.every((hook) => hook.signatureValid)).toBe(true);
      expect(forPassing[0]?.payload).toMatchObject({
        ref: "refs/heads/kanbot/ci",
        after: passing,
        sender: { login: "kanbot[bot]" },
      });
      expect(fx.sim.ciRuns.map((run) => run.exitCode)).toEqual([1, 0]);
    });

    it("answers every GraphQL document kanbot sends, and moves cards with webhooks", async () => {
      const token = await fx.mintToken();
      const octokit = fx.octokit(token);
      const board = fx.sim.addProject(ORG, {
        number: 7,
        title: "Board",
        fields: { Status: ["Todo", "Ready", "In progress", "Done"] },
      });
      const number = await fx.sim.actAs(MAINTAINER).createIssue(FULL, { title: "On the board" });
      const issue = fx.sim.issue(FULL, number);

      const found = await octokit.graphql<{
        organization: {
          projectV2: {
            id: string;
            fields: {
              nodes: { id?: string; name?: string; options?: { id: string; name: string }[] }[];
            };
          };
        };
      }>(GRAPHQL_DOCUMENTS.FindProject, { owner: ORG, number: 7 });
      const status = found.organization.projectV2.fields.nodes.find(
        (field) => field.name === "Status",
      );
      const added = await octokit.graphql<{ addProjectV2ItemById: { item: { id: string } } }>(
        GRAPHQL_DOCUMENTS.AddProjectItem,
        {
          projectId: board.id,
          contentId: issue.nodeId,
        },
      );
      const itemId = added.addProjectV2ItemById.item.id;
      await octokit.graphql(GRAPHQL_DOCUMENTS.SetSingleSelect, {
        projectId: board.id,
        itemId,
        fieldId: status?.id,
        optionId: status?.options?.find((option) => option.name === "In progress")?.id,
      });
      const items = await octokit.graphql<{
        node: {
          projectItems: { nodes: { id: string; fieldValues: { nodes: { name?: string }[] } }[] };
        };
      }>(GRAPHQL_DOCUMENTS.IssueProjectItems, { issueId: issue.nodeId });
      await fx.sim.actAs(MAINTAINER).moveCard(FULL, number, "Done");
      const resolved = await octokit.graphql<{
        node: {
          project: { number: number; owner: { login: string } };
          content: { number: number };
        };
      }>(GRAPHQL_DOCUMENTS.ResolveProjectItem, { itemId });
      await fx.until(
        () =>
          fx.hooks.some(
            (hook) =>
              hook.event === "projects_v2_item" &&
              hook.payload.sender !== undefined &&
              (hook.payload.sender as { login: string }).login === MAINTAINER,
          ),
        "the card move webhook",
      );

      expect(status?.options?.map((option) => option.name)).toEqual([
        "Todo",
        "Ready",
        "In progress",
        "Done",
      ]);
      expect(items.node.projectItems.nodes).toMatchObject([
        { id: itemId, fieldValues: { nodes: [{}, { name: "In progress" }] } },
      ]);
      expect(resolved.node).toMatchObject({
        project: { number: 7, owner: { login: ORG } },
        content: { number },
      });
      expect(fx.sim.cardColumn(FULL, number)).toBe("Done");
      const moves = fx.hooks.filter((hook) => hook.event === "projects_v2_item");
      expect(
        moves.map(
          (hook) => `${hook.action ?? ""}:${(hook.payload.sender as { login: string }).login}`,
        ),
      ).toEqual(["created:kanbot[bot]", "edited:kanbot[bot]", `edited:${MAINTAINER}`]);
      expect(moves.at(-1)?.payload).toMatchObject({
        projects_v2_item: {
          node_id: itemId,
          content_node_id: issue.nodeId,
          project_node_id: board.id,
        },
        changes: { field_value: { field_type: "single_select", to: { name: "Done" } } },
      });
    });

    it("runs the pull-request GraphQL mutations and refuses auto-merge as a repository without it does", async () => {
      const token = await fx.mintToken();
      const octokit = fx.octokit(token);
      await fx.sim.actAs(MAINTAINER).push(FULL, "drafty", { "d.txt": "d\n" }, "draft work");
      const { data: pull } = await octokit.rest.pulls.create({
        ...repo,
        head: "drafty",
        base: "main",
        title: "Draft",
        draft: true,
      });

      await octokit.graphql(PULL_REQUEST_GRAPHQL_DOCUMENTS.MarkPullRequestReady, {
        pullRequestId: pull.node_id,
      });
      const readied = fx.sim.pull(FULL, pull.number).draft;
      await octokit.graphql(PULL_REQUEST_GRAPHQL_DOCUMENTS.ConvertPullRequestToDraft, {
        pullRequestId: pull.node_id,
      });
      const autoMerge = await octokit
        .graphql(PULL_REQUEST_GRAPHQL_DOCUMENTS.EnablePullRequestAutoMerge, {
          pullRequestId: pull.node_id,
          mergeMethod: "SQUASH",
          expectedHeadOid: null,
        })
        .catch((error: { errors?: { type: string }[] }) => error);

      expect(readied).toBe(false);
      expect(fx.sim.pull(FULL, pull.number).draft).toBe(true);
      expect(autoMerge).toMatchObject({ errors: [{ type: "UNPROCESSABLE" }] });
    });

    it("refuses project access to a token without organization_projects", async () => {
      const token = await fx.mintToken({ permissions: { issues: "write" } });

      const refused = await fx
        .octokit(token)
        .graphql(GRAPHQL_DOCUMENTS.FindProject, { owner: ORG, number: 7 })
        .catch((error: { errors?: { type: string }[] }) => error);

      expect(refused).toMatchObject({ errors: [{ type: "FORBIDDEN" }] });
    });
  });

  it("records a REST path GitHub does not have and a GraphQL document GitHub's schema rejects", async () => {
    const token = await fx.mintToken();
    fx.sim.violations.length = 0;

    const unknown = await fetch(`${fx.sim.apiUrl}/repos/${FULL}/issues/1/labelz`, {
      headers: { authorization: `token ${token}` },
    });
    const invalid = await fetch(`${fx.sim.url}/api/graphql`, {
      method: "POST",
      headers: { authorization: `token ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ query: '{ organization(login: "octo-org") { nonsense } }' }),
    });
    const invalidBody = (await invalid.json()) as { errors?: unknown[] };

    expect(unknown.status).toBe(404);
    expect(invalid.status).toBe(200);
    expect(invalidBody.errors).toHaveLength(1);
    expect(fx.sim.violations.map((violation) => violation.kind)).toEqual([
      "unknown-endpoint",
      "invalid-graphql",
    ]);
    expect(fx.sim.violations[0]?.details[0]).toMatch(
      /did you mean \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\/labels/,
    );
    fx.sim.violations.length = 0;
  });
});
