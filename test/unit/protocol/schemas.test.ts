import { describe, expect, it } from "vitest";
import {
  API_PATHS,
  AppendLogRequest,
  ClaimRequest,
  ClaimResponse,
  CompleteJobRequest,
  fieldIssues,
  formatIssuePath,
  HeartbeatRequest,
  RegisterRunnerRequest,
} from "../../../src/protocol/index.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

function problems(result: { success: boolean; error?: unknown }): string[] {
  if (result.success) return [];
  return fieldIssues(result.error as never).map((issue) => `${issue.path}: ${issue.message}`);
}

describe("RegisterRunnerRequest", () => {
  it("applies defaults to labels and repos", () => {
    expect(
      RegisterRunnerRequest.parse({
        registrationToken: "kbreg_x",
        name: "mac-1",
        agents: ["claude"],
      }),
    ).toEqual({
      registrationToken: "kbreg_x",
      name: "mac-1",
      agents: ["claude"],
      labels: [],
      repos: [],
    });
  });

  it.each([
    [{ name: "mac 1" }, "name"],
    [{ agents: [] }, "agents: expected at least one agent"],
    [{ agents: ["claude", "claude"] }, "agents: expected no duplicates"],
    [{ agents: ["bad agent"] }, "agents[0]"],
    [{ labels: ["has space"] }, "labels[0]"],
    [{ repos: ["widgets"] }, "repos[0]: expected a repository as owner/name"],
    [{ registrationToken: "" }, "registrationToken: expected the registration token"],
  ])("rejects %j naming %s", (override, expected) => {
    const result = RegisterRunnerRequest.safeParse({
      registrationToken: "kbreg_x",
      name: "mac-1",
      agents: ["claude"],
      ...override,
    });

    expect(problems(result).join("\n")).toContain(expected);
  });
});

describe("ClaimRequest", () => {
  it.each([
    [{}, true],
    [{ agents: ["claude"], freeSlots: 2, waitSeconds: 30 }, true],
    [{ freeSlots: -1 }, false],
    [{ waitSeconds: 601 }, false],
    [{ repos: ["nope"] }, false],
  ])("%j valid: %s", (body, valid) => {
    expect(ClaimRequest.safeParse(body).success).toBe(valid);
  });
});

describe("HeartbeatRequest", () => {
  it.each([
    [{ leaseToken: "kbl_x" }, true],
    [{ leaseToken: "kbl_x", phase: "validate" }, true],
    [{ leaseToken: "kbl_x", phase: "Validate Now" }, false],
    [{}, false],
  ])("%j valid: %s", (body, valid) => {
    expect(HeartbeatRequest.safeParse(body).success).toBe(valid);
  });
});

describe("AppendLogRequest", () => {
  it.each([
    [{ leaseToken: "l", chunks: [{ seq: 0, text: "" }] }, []],
    [{ leaseToken: "l", chunks: [] }, ["chunks: expected at least one chunk"]],
    [
      { leaseToken: "l", chunks: [{ seq: 1.5, text: "x" }] },
      ["chunks[0].seq: Invalid input: expected int, received number"],
    ],
    [
      {
        leaseToken: "l",
        chunks: [
          { seq: 1, text: "a" },
          { seq: 1, text: "b" },
        ],
      },
      ["chunks: expected each seq at most once per request"],
    ],
  ])("%j", (body, expected) => {
    expect(problems(AppendLogRequest.safeParse(body))).toEqual(expected);
  });
});

describe("CompleteJobRequest", () => {
  it.each([
    [{ status: "succeeded", headSha: SHA, summary: "done" }, true],
    [{ status: "succeeded", headSha: SHA.toUpperCase(), summary: "done" }, false],
    [{ status: "succeeded", summary: "done" }, false],
    [{ status: "failed", error: "boom", headSha: SHA, costUsd: 1.25 }, true],
    [{ status: "failed" }, false],
    [{ status: "canceled" }, true],
    [{ status: "canceled", costUsd: -1 }, false],
    [{ status: "lost" }, false],
  ])("outcome %j valid: %s", (outcome, valid) => {
    expect(CompleteJobRequest.safeParse({ leaseToken: "kbl_x", outcome }).success).toBe(valid);
  });

  it("defaults validation results to an empty list", () => {
    const parsed = CompleteJobRequest.parse({
      leaseToken: "l",
      outcome: { status: "succeeded", headSha: SHA, summary: "" },
    });

    expect(parsed.outcome).toEqual({
      status: "succeeded",
      headSha: SHA,
      summary: "",
      validation: [],
    });
  });
});

describe("ClaimResponse", () => {
  it("accepts what the app sends", () => {
    const answer = {
      job: {
        id: 1,
        taskId: 1,
        kind: "fix-checks",
        attempt: 2,
        agent: "claude",
        repository: {
          fullName: "acme/widgets",
          owner: "acme",
          name: "widgets",
          cloneUrl: "https://github.com/acme/widgets.git",
          htmlUrl: "https://github.com/acme/widgets",
        },
        issue: {
          number: 7,
          title: "t",
          body: "b",
          comments: [],
          acceptanceCriteria: [],
          url: "https://github.com/acme/widgets/issues/7",
        },
        workspace: {
          baseBranch: null,
          branch: "kanbot/7-t",
          continueBranch: true,
          setupCommands: [],
          copyFiles: [],
          validationCommands: [],
          validationRounds: 2,
          forbiddenPaths: [".github/workflows/**"],
        },
        input: { failingChecks: [{ name: "ci", output: "boom" }] },
        limits: { maxMinutes: 30, maxUsd: 2.5, maxLogBytes: 1000, maxBodyBytes: 1000 },
      },
      lease: { token: "kbl_x", expiresAt: "2026-01-01T00:02:00.000Z", durationSeconds: 120 },
    };

    expect(ClaimResponse.parse(answer)).toEqual(answer);
    expect(
      ClaimResponse.safeParse({ ...answer, lease: { ...answer.lease, expiresAt: "soon" } }).success,
    ).toBe(false);
  });
});

describe("paths and issue formatting", () => {
  it("versions every path under /api/v1", () => {
    expect([
      API_PATHS.register,
      API_PATHS.claim,
      API_PATHS.heartbeat(3),
      API_PATHS.token(3),
      API_PATHS.log(3),
      API_PATHS.complete(3),
    ]).toEqual([
      "/api/v1/runners",
      "/api/v1/jobs/claim",
      "/api/v1/jobs/3/heartbeat",
      "/api/v1/jobs/3/token",
      "/api/v1/jobs/3/log",
      "/api/v1/jobs/3/complete",
    ]);
  });

  it.each([
    [[], ""],
    [["leaseToken"], "leaseToken"],
    [["chunks", 2, "seq"], "chunks[2].seq"],
    [[0], "[0]"],
  ])("formats %j as %s", (path, expected) => {
    expect(formatIssuePath(path)).toBe(expected);
  });
});
