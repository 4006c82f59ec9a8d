/**
 * The GitHub port's Projects v2 board calls (GraphQL) against the strict GitHub mock, which
 * validates every document and its variables against GitHub's schema.
 */
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../../src/github/errors.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import {
  fakeBoard,
  fieldId,
  issueNodeId,
  optionId,
  portMocks,
} from "../../helpers/github-port-mocks.js";
import { portFor, repo } from "./port-setup.js";

describe("GitHub port: Projects v2", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const board = fakeBoard({
    owner: "octo-org",
    number: 7,
    title: "Agents",
    fields: { Status: ["Ready", "In progress", "Done"], Priority: ["P0", "P1", "P2"] },
  });
  const issueId = issueNodeId({ ...repo, number: 1 });

  describe("findProject", () => {
    it("reads the project and its single-select fields with their options", async () => {
      ghp.project(board);

      const found = await portFor(gh.baseUrl).findProject("octo-org", 7);

      expect(found).toEqual(board);
      expect(found?.fields.map((field) => field.name)).toEqual(["Status", "Priority"]);
    });

    it("answers undefined for a project number the organisation does not have", async () => {
      ghp.noProject("octo-org", 99);

      const found = await portFor(gh.baseUrl).findProject("octo-org", 99);

      expect(found).toBeUndefined();
    });

    it("answers undefined for a login that is no organisation (a user's board)", async () => {
      ghp.noProject("monalisa", 1, { organization: false });

      const found = await portFor(gh.baseUrl).findProject("monalisa", 1);

      expect(found).toBeUndefined();
    });

    it("throws a GitHubError naming organization_projects when the app may not read projects", async () => {
      gh.graphql({ operationName: "FindProject" }).reply(200, {
        data: { organization: { login: "octo-org", projectV2: null } },
        errors: [
          {
            type: "FORBIDDEN",
            path: ["organization", "projectV2"],
            locations: [{ line: 5, column: 7 }],
            message: "Resource not accessible by integration",
          },
        ],
      });

      const error = await portFor(gh.baseUrl)
        .findProject("octo-org", 7)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(GitHubError);
      expect(error).toMatchObject({
        kind: "graphql",
        permission: "organization_projects: read",
        url: `${gh.graphqlUrl}`,
      });
      expect((error as GitHubError).message).toMatch(
        /^Could not read project 7 of octo-org: .*Resource not accessible by integration.*"organization_projects: read".*app\.yml/,
      );
    });
  });

  describe("findProjectItem", () => {
    it("finds the issue's item on this board among its items on other projects", async () => {
      ghp.projectItem(
        board,
        issueId,
        { id: "PVTI_mine", values: { Status: "Ready", Priority: "P1" } },
        { others: [{ id: "PVTI_other", projectId: "PVT_other", values: { Status: "Done" } }] },
      );

      const item = await portFor(gh.baseUrl).findProjectItem(board, issueId);

      expect(item).toEqual({ id: "PVTI_mine", values: { Status: "Ready", Priority: "P1" } });
    });

    it("answers undefined when the issue is not on the board", async () => {
      ghp.projectItem(board, issueId, undefined, {
        others: [{ id: "PVTI_other", projectId: "PVT_other" }],
      });

      const item = await portFor(gh.baseUrl).findProjectItem(board, issueId);

      expect(item).toBeUndefined();
    });

    it("follows the cursor to a later page of items", async () => {
      const others = Array.from({ length: 60 }, (_, i) => ({
        id: `PVTI_o${i}`,
        projectId: `PVT_o${i}`,
      }));
      ghp.projectItems(issueId, [...others, { id: "PVTI_mine", projectId: board.id }]);

      const item = await portFor(gh.baseUrl).findProjectItem(board, issueId);

      expect(item).toEqual({ id: "PVTI_mine", values: {} });
      expect(gh.requests).toHaveLength(2);
    });

    it("stops at the page that holds the item", async () => {
      const others = Array.from({ length: 60 }, (_, i) => ({
        id: `PVTI_o${i}`,
        projectId: `PVT_o${i}`,
      }));
      ghp.projectItems(issueId, [{ id: "PVTI_mine", projectId: board.id }, ...others], {
        stopAfterPage: 1,
      });

      const item = await portFor(gh.baseUrl).findProjectItem(board, issueId);

      expect(item?.id).toBe("PVTI_mine");
    });

    it("answers undefined for an issue node GitHub does not know", async () => {
      ghp.noIssueNode("I_gone");

      const item = await portFor(gh.baseUrl).findProjectItem(board, "I_gone");

      expect(item).toBeUndefined();
    });
  });

  describe("writing to the board", () => {
    it("adds the issue to the board and sets its Status by option id", async () => {
      ghp.addProjectItem(board, issueId, "PVTI_new").setStatus(board, "PVTI_new", "In progress");
      const port = portFor(gh.baseUrl);

      const item = await port.addProjectItem(board, issueId);
      await port.setSingleSelect(
        board,
        item.id,
        fieldId(board, "Status"),
        optionId(board, "Status", "In progress"),
      );

      expect(item).toEqual({ id: "PVTI_new", values: {} });
      expect(gh.requests.map((request) => request.operationName)).toEqual([
        "AddProjectItem",
        "SetSingleSelect",
      ]);
    });

    it("reads the values of an item that was on the board already", async () => {
      ghp.addProjectItem(board, issueId, "PVTI_old", { Status: "Done" });

      const item = await portFor(gh.baseUrl).addProjectItem(board, issueId);

      expect(item).toEqual({ id: "PVTI_old", values: { Status: "Done" } });
    });
  });

  describe("resolveProjectItem", () => {
    it("resolves an item to its issue, project and values", async () => {
      ghp.resolveItem("PVTI_1", {
        project: { owner: "octo-org", number: 7 },
        issue: { owner: "octo-org", repo: "widgets", number: 1 },
        values: { Status: "Ready" },
      });

      const resolved = await portFor(gh.baseUrl).resolveProjectItem("PVTI_1");

      expect(resolved).toEqual({
        itemId: "PVTI_1",
        project: { owner: "octo-org", number: 7 },
        issue: { owner: "octo-org", repo: "widgets", number: 1 },
        values: { Status: "Ready" },
      });
    });

    it("resolves a draft issue's item without an issue", async () => {
      ghp.resolveItem("PVTI_draft", {
        project: { owner: "octo-org", number: 7 },
        issue: undefined,
      });

      const resolved = await portFor(gh.baseUrl).resolveProjectItem("PVTI_draft");

      expect(resolved).toMatchObject({ itemId: "PVTI_draft", issue: undefined, values: {} });
    });

    it("answers undefined for an item that no longer exists", async () => {
      ghp.resolveItem("PVTI_deleted", null);

      const resolved = await portFor(gh.baseUrl).resolveProjectItem("PVTI_deleted");

      expect(resolved).toBeUndefined();
    });
  });
  describe("writeIssueView", () => {
    it("reads the label and comment node ids, then writes labels, card and comment in one request", async () => {
      const ref = { ...repo, number: 1 };
      const status = board.fields.find((field) => field.name === "Status");
      ghp
        .labelNodeIds(repo)
        .commentNodeId(repo, 77)
        .writeIssueView(ref, {
          remove: ["agent:queued"],
          add: ["agent:working"],
          card: { board, itemId: "PVTI_1", option: "In progress" },
          comment: { id: 77, body: /Running/ },
        });
      const port = portFor(gh.baseUrl);

      const labels = await port.labelNodeIds(repo);
      const commentId = await port.commentNodeId(repo, 77);
      await port.writeIssueView(ref, {
        issueNodeId: issueId,
        removeLabelIds: [labels.get("agent:queued") ?? ""],
        addLabelIds: [labels.get("agent:working") ?? ""],
        card: {
          board,
          itemId: "PVTI_1",
          fieldId: status?.id ?? "",
          optionId: status?.options.find((option) => option.name === "In progress")?.id ?? "",
        },
        comment: { nodeId: commentId ?? "", body: "<!-- kanbot -->\nRunning" },
      });

      expect(gh.requests.map((request) => request.method)).toEqual(["GET", "GET", "POST"]);
    });
  });
});
