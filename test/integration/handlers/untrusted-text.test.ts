/**
 * Untrusted text at the edge (issue 11): a label trigger on an issue with a 1 MB body, a 1 000
 * character title and a 100 000 character comment, all carrying invisible characters. The task is
 * stored capped at GitHub's own limits, the job is described to the runner capped, and the
 * runner's prompt shows where text was cut.
 */
import { afterAll, describe, expect, it } from "vitest";
import { describeJob } from "../../../src/api/describe-job.js";
import { resolveLabelNames, stateLabelDefinition } from "../../../src/domain/labels.js";
import {
  GITHUB_BODY_LIMIT,
  GITHUB_TITLE_LIMIT,
  ISSUE_THREAD_LIMIT,
} from "../../../src/domain/untrusted-text.js";
import { promptForJob } from "../../../runner/prompt.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const MEGABYTE = 1024 * 1024;

describe("untrusted text at the edge", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("a 1 MB issue body, a long title and a long comment are stored and described capped", async () => {
    const h = await createHarness(gh);
    const ref = issueRef(1);
    const title = `Add a widget\u200B\u202E ${"t".repeat(1000)}`;
    const body = `Please add a widget.\u200B\u{E0041}\n${"b".repeat(MEGABYTE)}`;
    const comment = `Use the blue one.\u2066\n${"c".repeat(100_000)}`;
    const definition = stateLabelDefinition("queued", resolveLabelNames());
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.permission(REPO, "bob", "write");
    ghp.blockedBy(ref, []);
    ghp.subIssues(ref, []);
    ghp.comments(ref, [{ id: 501, body: comment, author: "bob" }]);
    if (definition !== undefined) {
      ghp.ensureLabels(REPO, { existing: [], create: [definition] });
      ghp.labelNodeIds(REPO);
      ghp.writeIssueView(ref, { remove: ["agent:ready"], add: [definition.name] });
    }
    ghp.createComment(ref, { body: /^<!-- kanbot:progress /, id: 1001 });

    await h.receive("issues", labeledPayload({ title, body }));
    await h.drain();

    const task = await h.store.findTask(`${REPO.owner}/${REPO.repo}`, 1);
    expect(task?.state).toBe("queued");
    expect(task?.title.length).toBeLessThanOrEqual(GITHUB_TITLE_LIMIT);
    expect(task?.title).toMatch(
      /^Add a widget t+ \[… \d+ more characters cut: kanbot keeps at most 256\]$/,
    );
    const stored = task?.body ?? "";
    expect(stored.length).toBeLessThanOrEqual(ISSUE_THREAD_LIMIT);
    expect(stored.startsWith("Please add a widget.\nbbb")).toBe(true);
    expect(stored).not.toMatch(/[\u200B\u202E\u2066\u{E0041}]/u);
    const [bodyPart = "", commentPart = ""] = stored.split("\n\n---\n\n");
    expect(bodyPart.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(bodyPart).toMatch(
      /b\n\[… 983,\d{3} more characters cut: kanbot keeps at most 65,536\]$/,
    );
    expect(commentPart.startsWith("Comment by @bob:\n\nUse the blue one.\nccc")).toBe(true);
    expect(commentPart).toMatch(
      /c\n\[… 34,\d{3} more characters cut: kanbot keeps at most 65,536\]$/,
    );

    const [job] = await h.store.listJobs(task?.id ?? 0);
    if (task === undefined || job === undefined) throw new Error("no task or job was queued");
    const description = describeJob(
      job,
      task,
      {},
      {
        githubWebUrl: "https://github.com",
        limits: { maxLogBytes: MEGABYTE, maxBodyBytes: MEGABYTE },
      },
    );
    expect(description.issue.title).toBe(task.title);
    expect(description.issue.body).toBe(stored);
    const prompt = promptForJob(description);
    expect(prompt).toContain("more characters cut: kanbot keeps at most 65,536]\n\n---");
    expect(prompt.length).toBeLessThan(ISSUE_THREAD_LIMIT + 10_000);
    await h.close();
  });
});
