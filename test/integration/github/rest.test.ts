/**
 * The GitHub port's REST calls against the strict GitHub mock, through a real Probot Octokit:
 * what each method asks GitHub, how it reads the answer, pagination, and the expected 404/422
 * outcomes that are return values rather than errors.
 */
import { describe, expect, it } from "vitest";
import type { LabelDefinition } from "../../../src/domain/labels.js";
import { GitHubError } from "../../../src/github/errors.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { issueNodeId, portMocks, type ListedIssue } from "../../helpers/github-port-mocks.js";
import { capturingLogger, portFor, repo } from "./port-setup.js";

describe("GitHub port: REST", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);
  const issue1 = { ...repo, number: 1 };

  describe("permissionOf", () => {
    it.each(["admin", "maintain", "write", "triage", "read", "none"] as const)(
      "reads the %s role",
      async (level) => {
        ghp.permission(repo, "alice", level);

        const permission = await portFor(gh.baseUrl).permissionOf(repo, "alice");

        expect(permission).toBe(level);
      },
    );

    it("answers none for someone GitHub does not know (404)", async () => {
      ghp.permission(repo, "ghost-user", null);

      const permission = await portFor(gh.baseUrl).permissionOf(repo, "ghost-user");

      expect(permission).toBe("none");
    });
  });

  describe("isPullRequestMerged", () => {
    it.each([
      [true, "merged (204)"],
      [false, "not merged (404)"],
    ])("answers %s for a pull request GitHub says is %s", async (merged) => {
      ghp.pullRequestMerged({ ...repo, number: 20 }, merged);

      const answer = await portFor(gh.baseUrl).isPullRequestMerged({ ...repo, number: 20 });

      expect(answer).toBe(merged);
    });

    it("throws a GitHubError for other failures", async () => {
      ghp.restError("GET", `/repos/${repo.owner}/${repo.repo}/pulls/20/merge`, 500);

      const asked = portFor(gh.baseUrl).isPullRequestMerged({ ...repo, number: 20 });

      await expect(asked).rejects.toBeInstanceOf(GitHubError);
    });
  });

  describe("repository", () => {
    it("reads the default branch", async () => {
      ghp.defaultBranch(repo, "trunk");

      const branch = await portFor(gh.baseUrl).defaultBranch(repo);

      expect(branch).toBe("trunk");
    });

    it("reads a file's text raw, on the default branch or at a ref", async () => {
      ghp
        .file(repo, ".github/kanbot.yml", "agents:\n  default: claude\n")
        .file(repo, "docs/ünïcode.md", "héllo\n", { ref: "feature/x" });
      const port = portFor(gh.baseUrl);

      const config = await port.readFile(repo, ".github/kanbot.yml");
      const doc = await port.readFile(repo, "docs/ünïcode.md", "feature/x");

      expect(config).toBe("agents:\n  default: claude\n");
      expect(doc).toBe("héllo\n");
    });

    it("answers undefined for a file that does not exist (404)", async () => {
      ghp.file(repo, ".github/kanbot.yml", null);

      const text = await portFor(gh.baseUrl).readFile(repo, ".github/kanbot.yml");

      expect(text).toBeUndefined();
    });
  });

  describe("issues and comments", () => {
    it("reads an issue's facts", async () => {
      ghp.issue(issue1, {
        title: "Add dark mode",
        body: "depends on #2",
        labels: ["agent:ready", "use:codex"],
        author: "alice",
      });

      const facts = await portFor(gh.baseUrl).getIssue(issue1);

      expect(facts).toEqual({
        ref: issue1,
        nodeId: issueNodeId(issue1),
        title: "Add dark mode",
        body: "depends on #2",
        state: "open",
        stateReason: null,
        labels: ["agent:ready", "use:codex"],
        author: "alice",
        isPullRequest: false,
        htmlUrl: "https://github.com/octo-org/widgets/issues/1",
      });
    });

    it("reads a closed issue with no body, and tells a pull request apart", async () => {
      ghp
        .issue(issue1, { state: "closed", body: null })
        .issue({ ...repo, number: 2 }, { pullRequest: true });
      const port = portFor(gh.baseUrl);

      const closed = await port.getIssue(issue1);
      const pull = await port.getIssue({ ...repo, number: 2 });

      expect(closed).toMatchObject({ state: "closed", stateReason: "completed", body: "" });
      expect(pull?.isPullRequest).toBe(true);
    });

    it("answers undefined for an issue that does not exist (404)", async () => {
      ghp.issue({ ...repo, number: 404 }, null);

      const facts = await portFor(gh.baseUrl).getIssue({ ...repo, number: 404 });

      expect(facts).toBeUndefined();
    });

    it("lists every comment, following pagination", async () => {
      const comments = Array.from({ length: 150 }, (_, i) => ({
        id: 5000 + i,
        body: `comment ${i}`,
        author: i === 0 ? "alice" : "kanbot[bot]",
      }));
      ghp.comments(issue1, comments);

      const listed = await portFor(gh.baseUrl).listComments(issue1);

      expect(listed).toHaveLength(150);
      expect(listed[0]).toEqual({
        id: 5000,
        nodeId: expect.stringMatching(/^IC_/) as unknown as string,
        body: "comment 0",
        author: "alice",
        authorType: "User",
        createdAt: "2026-01-15T12:00:00Z",
        htmlUrl: "https://github.com/octo-org/widgets/issues/1#issuecomment-5000",
      });
      expect(listed[1]?.authorType).toBe("Bot");
      expect(listed[149]?.id).toBe(5149);
      expect(gh.requests).toHaveLength(2);
    });

    it("creates and edits a comment", async () => {
      ghp
        .createComment(issue1, { body: "<!-- kanbot -->\nQueued", id: 77 })
        .updateComment(repo, 77, { body: "<!-- kanbot -->\nRunning", issueNumber: 1 });
      const port = portFor(gh.baseUrl);

      const created = await port.createComment(issue1, "<!-- kanbot -->\nQueued");
      const updated = await port.updateComment(repo, 77, "<!-- kanbot -->\nRunning");

      expect(created).toMatchObject({ id: 77, body: "<!-- kanbot -->\nQueued" });
      expect(updated).toMatchObject({ id: 77, body: "<!-- kanbot -->\nRunning" });
    });

    it("lists issues with any of the labels: one call per label, de-duplicated, without pull requests", async () => {
      const many: ListedIssue[] = Array.from({ length: 120 }, (_, i) => ({ number: 200 + i }));
      ghp.issuesWithLabels(repo, {
        "agent:queued": [{ number: 7 }, { number: 3, state: "closed" }, ...many],
        "agent:working": [
          { number: 3, labels: ["agent:queued", "agent:working"] },
          { number: 9, pullRequest: true },
        ],
        "agent:blocked": [],
      });

      const issues = await portFor(gh.baseUrl).listIssuesWithLabels(repo, [
        "agent:queued",
        "agent:working",
        "AGENT:QUEUED",
        "agent:blocked",
      ]);

      expect(issues.map((issue) => issue.ref.number)).toEqual([
        3,
        7,
        ...many.map((entry) => entry.number),
      ]);
      expect(issues[0]).toMatchObject({ state: "closed", labels: ["agent:queued"] });
      expect(gh.requests).toHaveLength(4);
    });

    it("skips a label whose name has a comma, which GitHub's filter cannot express", async () => {
      const { log, lines } = capturingLogger();
      ghp.issuesWithLabels(repo, { "agent:queued": [{ number: 1 }] });

      const issues = await portFor(gh.baseUrl, log).listIssuesWithLabels(repo, [
        "odd,label",
        "agent:queued",
      ]);

      expect(issues).toHaveLength(1);
      expect(lines).toContainEqual(
        expect.objectContaining({ label: "odd,label", msg: expect.stringMatching(/comma/) }),
      );
    });
  });

  describe("labels", () => {
    const queued: LabelDefinition = {
      name: "agent:queued",
      color: "c5def5",
      description: "kanbot: queued, waiting for a runner",
    };
    const working: LabelDefinition = {
      name: "agent:working",
      color: "fbca04",
      description: "kanbot: a coding agent is working on this",
    };
    const ready: LabelDefinition = { name: "agent:ready", color: "1d76db", description: "go" };

    it("creates only the labels the repository lacks (names compare case-insensitively)", async () => {
      const existing = ["bug", "Agent:Ready", ...Array.from({ length: 100 }, (_, i) => `l${i}`)];
      ghp.ensureLabels(repo, { existing, create: [queued, working] });

      await portFor(gh.baseUrl).ensureLabels(repo, [ready, queued, working]);

      expect(gh.requests.map((request) => request.method)).toEqual(["GET", "GET", "POST", "POST"]);
    });

    it("accepts a label someone created meanwhile (422 already_exists)", async () => {
      ghp.ensureLabels(repo, { existing: [], create: [queued], raced: [working] });

      await expect(
        portFor(gh.baseUrl).ensureLabels(repo, [queued, working]),
      ).resolves.toBeUndefined();
    });

    it("throws on any other validation failure", async () => {
      ghp.ensureLabels(repo, { existing: [] });
      gh.rest("POST", "/repos/{owner}/{repo}/labels", repo).reply(422, {
        message: "Validation Failed",
        errors: [{ resource: "Label", code: "invalid", field: "color" }],
        documentation_url: "https://docs.github.com/rest/issues/labels#create-a-label",
        status: "422",
      });

      const error = await portFor(gh.baseUrl)
        .ensureLabels(repo, [{ ...queued, color: "nope" }])
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(GitHubError);
      expect(error).toMatchObject({ status: 422, kind: "invalid" });
      expect((error as GitHubError).message).toContain("Label color invalid");
    });

    it("makes no call for nothing to ensure or add", async () => {
      const port = portFor(gh.baseUrl);

      await port.ensureLabels(repo, []);
      await port.addLabels(issue1, []);

      expect(gh.requests).toHaveLength(0);
    });

    it("adds labels, and removes one", async () => {
      ghp
        .addLabels(issue1, ["agent:queued"], { existing: ["bug"] })
        .removeLabel(issue1, "agent:ready");
      const port = portFor(gh.baseUrl);

      await port.addLabels(issue1, ["agent:queued"]);
      await port.removeLabel(issue1, "agent:ready");

      expect(gh.requests).toHaveLength(2);
    });

    it("removing a label the issue does not carry is not an error (404)", async () => {
      ghp.removeLabel(issue1, "agent:ready", { absent: true });

      await expect(portFor(gh.baseUrl).removeLabel(issue1, "agent:ready")).resolves.toBeUndefined();
    });
  });

  describe("dependencies", () => {
    const other = { owner: "octo-org", repo: "api", number: 12 };

    it("lists blocked-by issues across repositories, with their states", async () => {
      ghp.blockedBy(issue1, [
        { ref: { ...repo, number: 2 }, state: "open" },
        { ref: other, state: "closed" },
      ]);

      const linked = await portFor(gh.baseUrl).listBlockedBy(issue1);

      expect(linked).toEqual([
        { ref: { ...repo, number: 2 }, state: "open" },
        { ref: other, state: "closed" },
      ]);
    });

    it("lists sub-issues over several pages", async () => {
      const subs = Array.from({ length: 130 }, (_, i) => ({
        ref: { ...repo, number: 100 + i },
        state: i % 2 === 0 ? ("open" as const) : ("closed" as const),
      }));
      ghp.subIssues(issue1, subs);

      const linked = await portFor(gh.baseUrl).listSubIssues(issue1);

      expect(linked).toEqual(subs);
      expect(gh.requests).toHaveLength(2);
    });

    it("answers no links where GitHub has no such API (404), and says so in the log", async () => {
      const { log, lines } = capturingLogger();
      ghp.blockedBy(issue1, null).subIssues(issue1, null);
      const port = portFor(gh.baseUrl, log);

      const blockedBy = await port.listBlockedBy(issue1);
      const subIssues = await port.listSubIssues(issue1);

      expect(blockedBy).toEqual([]);
      expect(subIssues).toEqual([]);
      expect(lines.map((line) => line.msg)).toEqual([
        "issue dependencies not available; only body references count",
        "sub-issues not available; only body references count",
      ]);
    });
  });
});
