import { afterAll, describe, expect, it } from "vitest";
import { setupGitHubMock } from "../../helpers/github-mock.js";
import { fakeBoard, issueNodeId, portMocks } from "../../helpers/github-port-mocks.js";
import {
  capturingLogger,
  cleanupHarnessFolders,
  createHarness,
  issueRef,
  labeledPayload,
  REPO,
  triggerMocks,
} from "../../helpers/handler-harness.js";

afterAll(cleanupHarnessFolders);

const BOARD_CONFIG = "board:\n  project: 7\n";

describe("the board update", () => {
  const gh = setupGitHubMock();
  const ghp = portMocks(gh);

  it("adds an issue that is not on the board yet and sets its Status to Ready", async () => {
    const h = await createHarness(gh);
    const board = fakeBoard({ owner: REPO.owner, number: 7 });
    const node = issueNodeId(issueRef(1));
    triggerMocks(gh, ghp, {
      config: BOARD_CONFIG,
      card: { board, itemId: "PVTI_new", option: "Ready" },
    });
    ghp.project(board);
    ghp.projectItem(board, node, undefined);
    ghp.addProjectItem(board, node, "PVTI_new");

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({ state: "queued" });
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    await h.close();
  });

  it("uses the configured column names and status field", async () => {
    const h = await createHarness(gh);
    const board = fakeBoard({
      owner: REPO.owner,
      number: 7,
      fields: { Stage: ["Inbox", "Up next", "Doing"] },
    });
    const node = issueNodeId(issueRef(1));
    triggerMocks(gh, ghp, {
      config: `${BOARD_CONFIG}  statusField: Stage\n  columns:\n    queued: Up next\n`,
      card: { board, itemId: "PVTI_1", option: "Up next", field: "Stage" },
    });
    ghp.project(board);
    ghp.projectItem(board, node, { id: "PVTI_1", values: { Stage: "Inbox" } });

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({ state: "queued" });
    await h.close();
  });

  it("a column missing from the board is logged and skipped; the label and the progress comment are still written", async () => {
    const { log, lines } = capturingLogger();
    const h = await createHarness(gh, { log });
    const board = fakeBoard({
      owner: REPO.owner,
      number: 7,
      fields: { Status: ["Todo", "Doing", "Done"] },
    });
    triggerMocks(gh, ghp, { config: BOARD_CONFIG });
    ghp.project(board);
    ghp.projectItem(board, issueNodeId(issueRef(1)), { id: "PVTI_1", values: { Status: "Todo" } });

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({ state: "queued" });
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: "board has no column for this state; board update skipped",
        column: "Ready",
        state: "queued",
      }),
    );
    await h.close();
  });

  it("a board the app cannot see is logged and skipped, never fatal", async () => {
    const { log, lines } = capturingLogger();
    const h = await createHarness(gh, { log });
    triggerMocks(gh, ghp, { config: BOARD_CONFIG });
    ghp.noProject(REPO.owner, 7);

    await h.receive("issues", labeledPayload());
    await h.drain();

    expect(await h.store.findTask("Codertocat/Hello-World", 1)).toMatchObject({ state: "queued" });
    expect((await h.store.listDeliveries())[0]).toMatchObject({ status: "done" });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: "board named in .github/kanbot.yml not found or not visible to the app; board update skipped",
      }),
    );
    await h.close();
  });
});
