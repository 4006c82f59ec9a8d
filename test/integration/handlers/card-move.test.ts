import { afterAll, describe, expect, it } from "vitest";
import { formatRepoConfigErrors, parseRepoConfig } from "../../../src/config/repo-config.js";
import { stateLabelDefinition, resolveLabelNames } from "../../../src/domain/labels.js";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import {
  DEFAULT_STATUS_OPTIONS,
  fakeBoard,
  issueNodeId,
  portMocks,
} from "../../helpers/github-port-mocks.js";
import {
  appIdentity,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";
import { cardMovedPayload } from "../../helpers/handler-payloads.js";

afterAll(cleanupHarnessFolders);

const queued = stateLabelDefinition("queued", resolveLabelNames());
const BOARD_CONFIG = "board:\n  project: 7\n";
// Line 4: `atempts` is a typo; the board section itself is valid.
const INVALID_BOARD_CONFIG = "board:\n  project: 7\nbudget:\n  atempts: 3\n";

/** The report kanbot posts for a config (as the label path does). */
function reportFor(yaml: string): string {
  const parsed = parseRepoConfig(yaml, { knownAgents: [] });
  if (parsed.ok) throw new Error("expected an invalid config");
  return formatRepoConfigErrors(parsed.errors);
}
const board = fakeBoard({
  owner: REPO.owner,
  number: 7,
  fields: { Status: [...DEFAULT_STATUS_OPTIONS], Priority: ["P0", "P1", "P2", "P3"] },
});

describe("the card-move trigger (projects_v2_item.edited)", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("a card moved to Ready on the configured project starts the task, with the board's priority", async () => {
    const h = await createHarness(gh);
    const ref = issueRef(1);
    appIdentity(gh);
    ghp.installationToken();
    // 1. The item is resolved to its issue, then that repository's config is read.
    ghp.resolveItem("PVTI_card1", {
      project: { owner: REPO.owner, number: 7 },
      issue: ref,
      values: { Status: "Ready", Priority: "P1" },
    });
    ghp.file(REPO, ".github/kanbot.yml", BOARD_CONFIG);
    // 2. The card mover's permission, the issue and its dependencies.
    ghp.permission(REPO, "alice", "write");
    ghp.issue(ref, { labels: [] });
    ghp.blockedBy(ref, []).subIssues(ref, []).comments(ref, []);
    // 3. The state label and the progress comment; the card is already in Ready.
    if (queued !== undefined) ghp.ensureLabels(REPO, { existing: [], create: [queued] });
    ghp.addLabels(ref, ["agent:queued"]);
    ghp.project(board);
    ghp.projectItem(board, issueNodeId(ref), {
      id: "PVTI_card1",
      values: { Status: "Ready", Priority: "P1" },
    });
    ghp.createComment(ref, { body: /^<!-- kanbot:progress [\s\S]*Queued/ });

    await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", ref));
    await h.drain();

    const task = await h.store.findTask("Codertocat/Hello-World", 1);
    expect(task).toMatchObject({ state: "queued", priority: 1, startedBy: "alice" });
    expect(await h.store.listJobs(task?.id ?? 0)).toMatchObject([
      { kind: "implement", status: "queued", priority: 1 },
    ]);
    await h.close();
  });

  it("a card moved on a project the repository's config does not name changes nothing", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.resolveItem("PVTI_card1", {
      project: { owner: REPO.owner, number: 8 },
      issue: issueRef(1),
      values: { Status: "Ready" },
    });
    ghp.file(REPO, ".github/kanbot.yml", BOARD_CONFIG);

    await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    await h.close();
  });

  it("a repository without a board in its config ignores card moves", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.resolveItem("PVTI_card1", {
      project: { owner: REPO.owner, number: 7 },
      issue: issueRef(1),
      values: { Status: "Ready" },
    });
    ghp.file(REPO, ".github/kanbot.yml", null);

    await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("a card moved to another column than Ready changes nothing", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.resolveItem("PVTI_card1", {
      project: { owner: REPO.owner, number: 7 },
      issue: issueRef(1),
      values: { Status: "In review" },
    });
    ghp.file(REPO, ".github/kanbot.yml", BOARD_CONFIG);

    await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("a draft issue's card is ignored after resolving it, without reading any config", async () => {
    const h = await createHarness(gh);
    appIdentity(gh);
    ghp.installationToken();
    ghp.resolveItem("PVTI_draft", {
      project: { owner: REPO.owner, number: 7 },
      issue: undefined,
      values: { Status: "Ready" },
    });

    await h.receive("projects_v2_item", cardMovedPayload("PVTI_draft", issueRef(1)));
    await h.drain();

    expect(await h.store.listTasks()).toEqual([]);
    await h.close();
  });

  it("the trigger label and then the card moved to Ready make one task and one job", async () => {
    const h = await createHarness(gh);
    const ref = issueRef(1);
    triggerMocks(gh, ghp, { commentId: 501 });
    await h.receive("issues", labeledPayload());
    await h.drain();

    // The card move: resolved, config, permission and the issue (already showing agent:queued);
    // the task is active, so nothing else is written.
    ghp.resolveItem("PVTI_card1", {
      project: { owner: REPO.owner, number: 7 },
      issue: ref,
      values: { Status: "Ready" },
    });
    ghp.file(REPO, ".github/kanbot.yml", BOARD_CONFIG);
    ghp.permission(REPO, "alice", "write");
    ghp.issue(ref, { labels: ["agent:queued"] });
    await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", ref));
    await h.drain();

    const tasks = await h.store.listTasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.state).toBe("queued");
    expect(await h.store.listJobs(tasks[0]?.id ?? 0)).toHaveLength(1);
    expect((await h.store.listDeliveries()).map((delivery) => delivery.status)).toEqual([
      "done",
      "done",
    ]);
    await h.close();
  });

  describe("with an invalid .github/kanbot.yml", () => {
    /** The item resolved to issue #1 in `column` on project 7, and the config read. */
    function cardIn(column: string, yaml: string, project = 7, first = true): void {
      if (first) {
        appIdentity(gh);
        ghp.installationToken();
      }
      ghp.resolveItem("PVTI_card1", {
        project: { owner: REPO.owner, number: project },
        issue: issueRef(1),
        values: { Status: column },
      });
      ghp.file(REPO, ".github/kanbot.yml", yaml);
    }

    it("a card moved to Ready reports the problems on the issue, with field and line, and queues nothing", async () => {
      const h = await createHarness(gh);
      cardIn("Ready", INVALID_BOARD_CONFIG);
      ghp.permission(REPO, "alice", "write");
      ghp.comments(issueRef(1), []);
      ghp.createComment(issueRef(1), {
        body: /^### kanbot cannot use `\.github\/kanbot\.yml`[\s\S]*^\.github\/kanbot\.yml:4:3: budget\.atempts: unknown field "atempts" \(did you mean "attempts"\?\)$/m,
      });

      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
      await h.close();
    });

    it("the same problems already reported by kanbot are not reported again", async () => {
      const h = await createHarness(gh);
      cardIn("Ready", INVALID_BOARD_CONFIG);
      ghp.permission(REPO, "alice", "write");
      // An older report of other problems, then the report of these (the label path's text).
      ghp.comments(issueRef(1), [
        { id: 11, body: reportFor("budget:\n  attempts: many\n") },
        { id: 12, body: "Dragging it to Ready again", author: "alice" },
        { id: 13, body: reportFor(INVALID_BOARD_CONFIG) },
      ]);
      // No createComment mock: the strict mock fails the test if a comment is posted.

      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
      await h.close();
    });

    it("is reported again when kanbot's latest report named other problems, and a person's copy does not count", async () => {
      const h = await createHarness(gh);
      cardIn("Ready", INVALID_BOARD_CONFIG);
      ghp.permission(REPO, "alice", "write");
      ghp.comments(issueRef(1), [
        { id: 11, body: reportFor(INVALID_BOARD_CONFIG) },
        { id: 12, body: reportFor("budget:\n  attempts: many\n") },
        { id: 13, body: reportFor(INVALID_BOARD_CONFIG), author: "alice" },
      ]);
      ghp.createComment(issueRef(1), { body: reportFor(INVALID_BOARD_CONFIG) });

      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      await h.close();
    });

    it("a card moved to another column, or on a project the config does not name, reports nothing", async () => {
      const h = await createHarness(gh);
      cardIn("In progress", INVALID_BOARD_CONFIG);
      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();
      cardIn("Ready", INVALID_BOARD_CONFIG, 8, false);
      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      expect((await h.store.listDeliveries()).map((delivery) => delivery.status)).toEqual([
        "done",
        "done",
      ]);
      await h.close();
    });

    it("a file kanbot cannot read as YAML is reported for a card moved to Ready", async () => {
      const h = await createHarness(gh);
      cardIn("Ready", "board:\n  project: [7\n");
      ghp.permission(REPO, "alice", "write");
      ghp.comments(issueRef(1), []);
      ghp.createComment(issueRef(1), {
        body: /^### kanbot cannot use[\s\S]*YAML syntax error/,
      });

      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      await h.close();
    });

    it("someone below the minimum permission gets the refusal, not the report", async () => {
      const h = await createHarness(gh);
      cardIn("Ready", INVALID_BOARD_CONFIG);
      ghp.permission(REPO, "alice", "read");
      ghp.createComment(issueRef(1), {
        body: /^@alice kanbot did nothing: only people with at least `write`/,
      });

      await h.receive("projects_v2_item", cardMovedPayload("PVTI_card1", issueRef(1)));
      await h.drain();

      expect(await h.store.listTasks()).toEqual([]);
      await h.close();
    });
  });
});
