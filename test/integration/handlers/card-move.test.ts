import { afterAll, describe, expect, it } from "vitest";
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
});
