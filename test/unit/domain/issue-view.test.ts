/**
 * The issue's GitHub view, computed (src/domain/issue-view.ts): one view of the task record in,
 * one set of writes out, each part null when GitHub already shows it.
 */
import { describe, expect, it } from "vitest";
import { issueView, issueViewWrites, type IssueView } from "../../../src/domain/issue-view.js";
import { resolveLabelNames } from "../../../src/domain/labels.js";
import { renderProgressComment, type ProgressView } from "../../../src/domain/progress-comment.js";
import type { TaskState } from "../../../src/domain/types.js";

const NAMES = resolveLabelNames();
const COLUMNS: Record<Exclude<TaskState, "canceled">, string> = {
  waiting: "Todo",
  queued: "Ready",
  running: "In progress",
  checks: "In progress",
  "needs-input": "Needs input",
  review: "In review",
  done: "Done",
  blocked: "Blocked",
};

function progress(state: TaskState): ProgressView {
  return {
    issue: { owner: "acme", repo: "widgets", number: 1 },
    state,
    budget: {
      used: { attempts: 1, minutes: 2, usd: 0.5, lostLeases: 0 },
      limit: { attempts: 5, minutes: 60, usd: 10 },
    },
    timeline: [],
  };
}

function viewOf(state: TaskState, board: "board" | "no board" = "board"): IssueView {
  const columns = board === "board" ? COLUMNS : undefined;
  return issueView({ state, names: NAMES, columns, progress: progress(state) });
}

describe("issueView", () => {
  it("is the state's label, its column and the rendered progress comment", () => {
    const view = viewOf("checks");
    expect(view.label).toMatchObject({ name: "agent:checks" });
    expect(view.column).toBe("In progress");
    expect(view.comment).toBe(renderProgressComment(progress("checks")));
  });

  it("leaves the card alone without a board, and for a canceled task; a canceled task has no label", () => {
    expect(viewOf("review", "no board").column).toBeNull();
    expect(viewOf("canceled").column).toBeNull();
    expect(viewOf("canceled").label).toBeUndefined();
  });
});

describe("issueViewWrites", () => {
  it("writes nothing when GitHub shows the view", () => {
    const view = viewOf("running");
    expect(
      issueViewWrites(
        view,
        { labels: ["bug", "agent:working"], column: "In progress", comment: view.comment },
        NAMES,
      ),
    ).toEqual({ labels: null, column: null, comment: null });
  });

  it("swaps the state label, keeping the issue's other labels", () => {
    const writes = issueViewWrites(
      viewOf("checks"),
      { labels: ["bug", "agent:working"], column: "In progress", comment: undefined },
      NAMES,
    );
    expect(writes.labels).toMatchObject({
      add: ["agent:checks"],
      remove: ["agent:working"],
      definition: { name: "agent:checks" },
    });
  });

  it("leaves the labels alone when it does not know what the issue carries", () => {
    expect(
      issueViewWrites(
        viewOf("checks"),
        { labels: undefined, column: undefined, comment: "" },
        NAMES,
      ).labels,
    ).toBeNull();
  });

  it("moves the card only when the column differs from the one kanbot last wrote", () => {
    const shown = { labels: [], comment: undefined };
    // running -> checks: both "In progress", nothing to move.
    expect(
      issueViewWrites(viewOf("checks"), { ...shown, column: "In progress" }, NAMES).column,
    ).toBeNull();
    expect(
      issueViewWrites(viewOf("review"), { ...shown, column: "In progress" }, NAMES).column,
    ).toBe("In review");
    // Never written (or not remembered): written.
    expect(issueViewWrites(viewOf("queued"), { ...shown, column: undefined }, NAMES).column).toBe(
      "Ready",
    );
  });

  it("writes the comment only when its body differs from the one kanbot last wrote", () => {
    const view = viewOf("review");
    const shown = { labels: [], column: undefined };
    expect(issueViewWrites(view, { ...shown, comment: view.comment }, NAMES).comment).toBeNull();
    expect(issueViewWrites(view, { ...shown, comment: "older body" }, NAMES).comment).toBe(
      view.comment,
    );
    expect(issueViewWrites(view, { ...shown, comment: undefined }, NAMES).comment).toBe(
      view.comment,
    );
  });
});
