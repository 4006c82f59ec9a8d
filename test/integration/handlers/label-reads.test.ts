/**
 * A trigger label's GitHub reads overlap: the dependency and comment reads are requested while
 * the permission read is still unanswered, and the issue is taken from the payload. Each reply
 * waits on a promise the test controls; the assertions are about the order of events, never
 * about time.
 */
import nock from "nock";
import { afterAll, describe, expect, it } from "vitest";
import { fakeCollaboratorPermission } from "../../helpers/github-fixtures.js";
import {
  GITHUB_API_URL,
  setupGitHubMock,
  type RecordedRequest,
} from "../../helpers/github-mock.js";
import { portMocks } from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
} from "../../helpers/handler-harness.js";
import { resolveLabelNames, stateLabelDefinition } from "../../../src/domain/labels.js";

afterAll(cleanupHarnessFolders);

const ISSUE_PATH = `/repos/${REPO.owner}/${REPO.repo}/issues/1`;
const PERMISSION_PATH = `/repos/${REPO.owner}/${REPO.repo}/collaborators/alice/permission`;

/** Requests that change something on GitHub (the installation token aside). */
function writes(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter(
    (request) => request.method !== "GET" && !request.url.endsWith("/access_tokens"),
  );
}

/** An empty list answer at `path`, telling `asked` when it is requested. */
function emptyList(path: string, events: string[], name: string): Promise<void> {
  return new Promise((resolve) => {
    nock(GITHUB_API_URL)
      .get(path)
      .query({ per_page: "100" })
      .reply(() => {
        events.push(`${name} asked`);
        resolve();
        return [200, []];
      });
  });
}

describe("a trigger label's reads", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("asks for dependencies and comments before the permission has answered, and writes only after it", async () => {
    const h = await createHarness(gh);
    const events: string[] = [];
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const permissionAsked = new Promise<void>((resolve) => {
      nock(GITHUB_API_URL)
        .get(PERMISSION_PATH)
        .reply(async () => {
          events.push("permission asked");
          resolve();
          await held;
          events.push("permission answered");
          return [200, fakeCollaboratorPermission("alice", "write")];
        });
    });
    const reads = Promise.all([
      emptyList(`${ISSUE_PATH}/dependencies/blocked_by`, events, "blocked-by"),
      emptyList(`${ISSUE_PATH}/sub_issues`, events, "sub-issues"),
      emptyList(`${ISSUE_PATH}/comments`, events, "comments"),
    ]);
    // The writes of an accepted trigger, each noted when it happens.
    const queued = stateLabelDefinition("queued", resolveLabelNames());
    if (queued !== undefined) ghp.ensureLabels(REPO, { existing: [], create: [queued] });
    ghp.labelNodeIds(REPO);
    ghp.writeIssueView(issueRef(1), { remove: ["agent:ready"], add: [queued?.name ?? ""] });
    ghp.createComment(issueRef(1), { body: /^<!-- kanbot:progress /, id: 1001 });

    await h.receive("issues", labeledPayload());
    const drained = h.drain();
    // If the reads waited for the permission, this would never resolve (the permission is held).
    await Promise.all([permissionAsked, reads]);
    const beforeRelease = [...events];
    const writesBeforeRelease = writes(gh.requests);
    release();
    expect(await drained).toBe(1);

    expect(beforeRelease).toContain("permission asked");
    expect(beforeRelease).not.toContain("permission answered");
    expect(beforeRelease).toEqual(
      expect.arrayContaining(["blocked-by asked", "sub-issues asked", "comments asked"]),
    );
    expect(writesBeforeRelease).toEqual([]);
    // The issue came with the payload: no GET of the issue itself.
    expect(gh.requests.map((request) => request.url)).not.toContain(
      `${GITHUB_API_URL}${ISSUE_PATH}`,
    );
    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task).toMatchObject({ state: "queued", startedBy: "alice" });
    expect(await h.store.listJobs(task?.id ?? 0)).toHaveLength(1);
    await h.close();
  });

  it("a refused person's trigger: the reads begun are not used and nothing but the refusal is written", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "mallory", "read");
    // A failing read nobody uses does not fail the delivery (and so brings no second refusal).
    ghp.blockedBy(issueRef(1), []);
    ghp.subIssues(issueRef(1), []);
    gh.rest("GET", `${ISSUE_PATH}/comments`, {}, { query: { per_page: "100" } }).replyError(502);
    ghp.createComment(issueRef(1), { body: /^@mallory kanbot did nothing: / });

    await h.receive("issues", labeledPayload({ sender: "mallory" }));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    expect(writes(gh.requests)).toEqual([
      expect.objectContaining({ method: "POST", url: `${GITHUB_API_URL}${ISSUE_PATH}/comments` }),
    ]);
    await h.close();
  });

  it("a failed read the trigger needs fails the delivery, for the inbox to retry", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.file(REPO, ".github/kanbot.yml", null);
    ghp.permission(REPO, "alice", "write");
    ghp.blockedBy(issueRef(1), []);
    ghp.subIssues(issueRef(1), []);
    gh.rest("GET", `${ISSUE_PATH}/comments`, {}, { query: { per_page: "100" } }).replyError(502);

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    expect((await h.store.listDeliveries())[0]).toMatchObject({
      status: "pending",
      attempts: 1,
    });
    expect(writes(gh.requests)).toEqual([]);
    await h.close();
  });
});
