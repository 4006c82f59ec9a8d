import { describe, expect, it } from "vitest";

import {
  decideGate,
  outcomeOf,
  type CheckRunConclusion,
  type CheckRunInput,
  type CheckRunStatus,
  type CommitStatusInput,
  type GateCheck,
  type GateDecision,
  type GateInput,
  type GateVerdict,
} from "../../../src/domain/gate.js";

const HEAD = "a".repeat(40);
const OLD = "c".repeat(40);
const KANBOT_APP = 900;
const ACTIONS = { id: 15368, slug: "github-actions" };
const OTHER_CI = { id: 77, slug: "circleci" };
const SINCE = new Date("2025-03-01T12:00:00Z");

function minute(n: number): Date {
  return new Date(SINCE.getTime() + n * 60_000);
}

let nextId = 1;

function run(
  name: string,
  conclusion: CheckRunConclusion | null,
  overrides: Partial<CheckRunInput> = {},
): CheckRunInput {
  const status: CheckRunStatus = conclusion === null ? "in_progress" : "completed";
  return {
    id: nextId++,
    name,
    headSha: HEAD,
    status,
    conclusion,
    startedAt: minute(1),
    completedAt: conclusion === null ? null : minute(2),
    app: ACTIONS,
    url: `https://github.com/acme/app/runs/${name}`,
    summary: `${name} output`,
    ...overrides,
  };
}

function status(
  context: string,
  state: CommitStatusInput["state"],
  overrides: Partial<CommitStatusInput> = {},
): CommitStatusInput {
  return {
    context,
    sha: HEAD,
    state,
    createdAt: minute(1),
    updatedAt: minute(1),
    targetUrl: `https://ci.example/${context}`,
    description: `${context} says ${state}`,
    ...overrides,
  };
}

function gate(overrides: Partial<GateInput> = {}): GateDecision {
  return decideGate({
    headSha: HEAD,
    checkRuns: [],
    statuses: [],
    protection: null,
    self: { appId: KANBOT_APP },
    startDeadlineMinutes: 10,
    whenNone: "wait",
    prCreatedAt: SINCE,
    now: minute(3),
    ...overrides,
  });
}

function names(checks: readonly GateCheck[]): string[] {
  return checks.map((check) => `${check.source}:${check.name}`);
}

describe("decideGate: verdicts", () => {
  it.each<[string, Partial<GateInput>, GateVerdict, string[], string[], string[]]>([
    [
      "check runs and statuses mixed, all green",
      {
        checkRuns: [run("build", "success"), run("lint", "success")],
        statuses: [status("ci/circle", "success")],
      },
      "passed",
      ["check-run:build", "status:ci/circle", "check-run:lint"],
      [],
      [],
    ],
    [
      "a failing status among passing runs",
      {
        checkRuns: [run("build", "success")],
        statuses: [status("ci/circle", "failure")],
      },
      "failed",
      ["check-run:build"],
      ["status:ci/circle"],
      [],
    ],
    [
      "a status in error fails",
      { statuses: [status("deploy/preview", "error")] },
      "failed",
      [],
      ["status:deploy/preview"],
      [],
    ],
    [
      "a running check keeps the gate pending",
      { checkRuns: [run("build", "success"), run("test", null)] },
      "pending",
      ["check-run:build"],
      [],
      ["check-run:test"],
    ],
    [
      "a pending status keeps the gate pending",
      { statuses: [status("ci/circle", "pending")] },
      "pending",
      [],
      [],
      ["status:ci/circle"],
    ],
    [
      "a failure wins over pending",
      { checkRuns: [run("build", "failure"), run("test", null)] },
      "failed",
      [],
      ["check-run:build"],
      ["check-run:test"],
    ],
    [
      "neutral and skipped pass",
      { checkRuns: [run("optional", "neutral"), run("deploy", "skipped")] },
      "passed",
      ["check-run:deploy", "check-run:optional"],
      [],
      [],
    ],
    [
      "queued, waiting and requested runs are pending",
      {
        checkRuns: [
          run("a", null, { status: "queued", startedAt: null }),
          run("b", null, { status: "waiting" }),
          run("c", null, { status: "requested" }),
        ],
      },
      "pending",
      [],
      [],
      ["check-run:a", "check-run:b", "check-run:c"],
    ],
  ])("%s", (_name, input, verdict, passed, failed, pending) => {
    const decision = gate(input);

    expect(decision.verdict).toBe(verdict);
    expect(names(decision.passed)).toEqual(passed);
    expect(names(decision.failed)).toEqual(failed);
    expect(names(decision.pending)).toEqual(pending);
  });

  it.each<[CheckRunConclusion, "passed" | "failed"]>([
    ["success", "passed"],
    ["neutral", "passed"],
    ["skipped", "passed"],
    ["failure", "failed"],
    ["cancelled", "failed"],
    ["timed_out", "failed"],
    ["action_required", "failed"],
    ["stale", "failed"],
    ["startup_failure", "failed"],
  ])("a completed run concluding %s has %s", (conclusion, expected) => {
    const decision = gate({ checkRuns: [run("build", conclusion)] });

    expect(decision.verdict).toBe(expected);
    expect(outcomeOf([...decision.passed, ...decision.failed][0]!)).toBe(expected);
  });

  it("describes failures with name, conclusion, url and summary", () => {
    const decision = gate({
      checkRuns: [run("test", "failure", { id: 42, summary: "3 tests failed" })],
    });

    expect(decision.failed).toEqual([
      {
        name: "test",
        source: "check-run",
        conclusion: "failure",
        status: "completed",
        url: "https://github.com/acme/app/runs/test",
        summary: "3 tests failed",
        id: 42,
        appSlug: "github-actions",
      },
    ]);
    expect(decision.reason).toBe("1 required check failed: test (failure)");
  });
});

describe("decideGate: re-runs and duplicates", () => {
  it.each<[string, CheckRunInput[], GateVerdict]>([
    [
      "failure then success passes",
      [
        run("test", "failure", { id: 10, startedAt: minute(1), completedAt: minute(2) }),
        run("test", "success", { id: 11, startedAt: minute(3), completedAt: minute(4) }),
      ],
      "passed",
    ],
    [
      "success then failure fails",
      [
        run("test", "success", { id: 10, startedAt: minute(1), completedAt: minute(2) }),
        run("test", "failure", { id: 11, startedAt: minute(3), completedAt: minute(4) }),
      ],
      "failed",
    ],
    [
      "order in the input does not matter",
      [
        run("test", "success", { id: 11, startedAt: minute(3), completedAt: minute(4) }),
        run("test", "failure", { id: 10, startedAt: minute(1), completedAt: minute(2) }),
      ],
      "passed",
    ],
    [
      "a failure re-run that is still running is pending",
      [
        run("test", "failure", { id: 10, startedAt: minute(1), completedAt: minute(2) }),
        run("test", null, { id: 11, startedAt: minute(3), completedAt: null }),
      ],
      "pending",
    ],
    [
      "a queued re-run without times is the newest",
      [
        run("test", "failure", { id: 10 }),
        run("test", null, { id: 11, status: "queued", startedAt: null, completedAt: null }),
      ],
      "pending",
    ],
    [
      "equal times: the higher id wins",
      [run("test", "success", { id: 11 }), run("test", "failure", { id: 10 })],
      "passed",
    ],
  ])("%s", (_name, checkRuns, verdict) => {
    const decision = gate({ checkRuns });

    expect(decision.verdict).toBe(verdict);
    expect(decision.ignored).toEqual([
      { name: "test", source: "check-run", id: 10, reason: "superseded" },
    ]);
  });

  it.each<[string, CommitStatusInput[], GateVerdict]>([
    [
      "the latest status per context wins (failure then success)",
      [
        status("ci", "success", { updatedAt: minute(5) }),
        status("ci", "failure", { updatedAt: minute(2) }),
      ],
      "passed",
    ],
    [
      "success then failure",
      [
        status("ci", "success", { updatedAt: minute(2) }),
        status("ci", "failure", { updatedAt: minute(5) }),
      ],
      "failed",
    ],
    [
      "equal times: the first listed (GitHub lists newest first) wins",
      [status("ci", "pending"), status("ci", "success")],
      "pending",
    ],
  ])("%s", (_name, statuses, verdict) => {
    expect(gate({ statuses }).verdict).toBe(verdict);
  });

  it.each<[string, CheckRunConclusion, CommitStatusInput["state"], GateVerdict]>([
    ["both pass", "success", "success", "passed"],
    ["the run passes, the status fails", "success", "failure", "failed"],
    ["the run fails, the status passes", "failure", "success", "failed"],
    ["the run passes, the status is pending", "success", "pending", "pending"],
  ])("a check run and a status with the same name: %s", (_name, conclusion, state, verdict) => {
    const decision = gate({
      checkRuns: [run("ci/build", conclusion)],
      statuses: [status("ci/build", state)],
      configured: ["ci/build"],
    });

    expect(decision.verdict).toBe(verdict);
    expect(decision.passed.length + decision.failed.length + decision.pending.length).toBe(2);
  });
});

describe("decideGate: the head SHA and kanbot's own run", () => {
  it.each<[string, Partial<GateInput>, GateVerdict]>([
    [
      "a failure on a stale SHA does not fail the head",
      {
        checkRuns: [run("test", "failure", { headSha: OLD }), run("test", "success")],
      },
      "passed",
    ],
    [
      "a success on a stale SHA does not pass the head",
      {
        checkRuns: [run("test", "success", { headSha: OLD }), run("test", null)],
      },
      "pending",
    ],
    [
      "a stale status is ignored too",
      {
        statuses: [status("ci", "failure", { sha: OLD }), status("ci", "pending")],
      },
      "pending",
    ],
    [
      "only stale checks: required ones are missing",
      {
        checkRuns: [run("test", "success", { headSha: OLD })],
        configured: ["test"],
      },
      "pending",
    ],
  ])("%s", (_name, input, verdict) => {
    const decision = gate(input);

    expect(decision.verdict).toBe(verdict);
    expect(decision.ignored.filter((entry) => entry.reason === "stale-sha")).toHaveLength(1);
  });

  it.each<[string, GateInput["self"], CheckRunInput, "kanbot" | "counted"]>([
    [
      "by app id",
      { appId: KANBOT_APP },
      run("kanbot", "failure", { app: { id: KANBOT_APP, slug: "kanbot" } }),
      "kanbot",
    ],
    [
      "by app id, whatever its name",
      { appId: KANBOT_APP },
      run("kanbot config", "failure", { app: { id: KANBOT_APP, slug: "kanbot" } }),
      "kanbot",
    ],
    [
      "another app's run named kanbot counts when the app id is known",
      { appId: KANBOT_APP },
      run("kanbot", "failure", { app: OTHER_CI }),
      "counted",
    ],
    ["by name when the app id is unknown", { appId: null }, run("kanbot", "failure"), "kanbot"],
    [
      "by a configured name",
      { appId: null, checkName: "robot" },
      run("robot", "failure"),
      "kanbot",
    ],
  ])("kanbot's own run is ignored %s", (_name, self, own, expected) => {
    const decision = gate({ self, checkRuns: [own, run("build", "success")] });

    expect(decision.verdict).toBe(expected === "kanbot" ? "passed" : "failed");
    expect(decision.ignored.some((entry) => entry.reason === "kanbot")).toBe(expected === "kanbot");
  });

  it("a required check named like kanbot's run is not required", () => {
    const decision = gate({
      checkRuns: [run("build", "success")],
      protection: [{ name: "kanbot" }, { name: "build" }],
    });

    expect(decision.verdict).toBe("passed");
    expect(decision.missing).toEqual([]);
  });
});

describe("decideGate: required checks", () => {
  const checkRuns = [
    run("build", "success"),
    run("lint", "failure"),
    run("e2e", null),
    run("deploy", "success", { app: OTHER_CI }),
  ];

  it.each<
    [string, Partial<GateInput>, GateVerdict, GateDecision["requiredFrom"], string[], string[]]
  >([
    [
      "every check seen when nothing is configured",
      {},
      "failed",
      "all-checks",
      ["check-run:lint"],
      [],
    ],
    ["the config's subset", { configured: ["build", "deploy"] }, "passed", "config", [], []],
    [
      "branch protection wins over the config",
      { protection: [{ name: "build" }, { name: "e2e" }], configured: ["lint"] },
      "pending",
      "branch-protection",
      [],
      [],
    ],
    [
      "an empty protection list falls back to the config",
      { protection: [], configured: ["lint"] },
      "failed",
      "config",
      ["check-run:lint"],
      [],
    ],
    [
      "a required check that has not appeared is pending",
      { configured: ["build", "security-scan"] },
      "pending",
      "config",
      [],
      ["security-scan"],
    ],
    [
      "a check bound to an app counts only from that app",
      { protection: [{ name: "deploy", appId: ACTIONS.id }] },
      "pending",
      "branch-protection",
      [],
      ["deploy"],
    ],
    [
      "a check bound to the right app counts",
      {
        protection: [
          { name: "deploy", appId: OTHER_CI.id },
          { name: "build", appId: null },
        ],
      },
      "passed",
      "branch-protection",
      [],
      [],
    ],
    [
      "a failure is reported even while another required check is missing",
      { configured: ["lint", "never-runs"] },
      "failed",
      "config",
      ["check-run:lint"],
      ["never-runs"],
    ],
  ])("%s", (_name, input, verdict, from, failed, missing) => {
    const decision = gate({ checkRuns, ...input });

    expect(decision.verdict).toBe(verdict);
    expect(decision.requiredFrom).toBe(from);
    expect(names(decision.failed)).toEqual(failed);
    expect(decision.missing).toEqual(missing);
  });

  it("lists checks outside the required set as not required", () => {
    const decision = gate({ checkRuns, configured: ["build"] });

    expect(decision.ignored.map((entry) => `${entry.name}:${entry.reason}`).sort()).toEqual([
      "deploy:not-required",
      "e2e:not-required",
      "lint:not-required",
    ]);
  });

  it("an app-bound requirement marks another app's run with that name", () => {
    const decision = gate({
      checkRuns: [run("deploy", "failure", { app: OTHER_CI }), run("deploy", "success")],
      protection: [{ name: "deploy", appId: ACTIONS.id }],
    });

    expect(decision.verdict).toBe("passed");
    expect(decision.ignored.map((entry) => entry.reason)).toEqual(["other-app"]);
  });

  it("a status can satisfy an app-bound requirement only when its app is known", () => {
    const statuses = [status("ci", "success", { appId: OTHER_CI.id })];

    const bound = gate({ statuses, protection: [{ name: "ci", appId: OTHER_CI.id }] });
    const unknown = gate({
      statuses: [status("ci", "success")],
      protection: [{ name: "ci", appId: OTHER_CI.id }],
    });

    expect(bound.verdict).toBe("passed");
    expect(unknown.verdict).toBe("pending");
    expect(unknown.missing).toEqual(["ci"]);
  });
});

describe("decideGate: no checks, whenNone: pass", () => {
  it.each<[string, Partial<GateInput>, GateVerdict, boolean, Date | null]>([
    ["before the wait: pending", { now: minute(9) }, "pending", false, minute(10)],
    ["at the end of the wait: passed", { now: minute(10) }, "passed", true, null],
    ["after the wait: passed", { now: minute(60) }, "passed", true, null],
    [
      "a wait of zero passes at once",
      { startDeadlineMinutes: 0, now: SINCE },
      "passed",
      true,
      null,
    ],
    [
      "the wait runs from a later head push",
      { headPushedAt: minute(30), now: minute(35) },
      "pending",
      false,
      minute(40),
    ],
    [
      "an earlier head push does not shorten the wait",
      { headPushedAt: minute(-30), now: minute(5) },
      "pending",
      false,
      minute(10),
    ],
    [
      "a later head push, waited out",
      { headPushedAt: minute(30), now: minute(40) },
      "passed",
      true,
      null,
    ],
    [
      "only kanbot's own run: still no checks",
      {
        now: minute(11),
        checkRuns: [run("kanbot", "success", { app: { id: KANBOT_APP, slug: "kanbot" } })],
      },
      "passed",
      true,
      null,
    ],
    [
      "only stale checks before the wait",
      { now: minute(1), checkRuns: [run("build", "success", { headSha: OLD })] },
      "pending",
      false,
      minute(10),
    ],
    [
      "named required checks are never waived",
      { now: minute(600), configured: ["build"] },
      "pending",
      false,
      null,
    ],
  ])("%s", (_name, input, verdict, noChecks, recheckAt) => {
    const decision = gate({ whenNone: "pass", ...input });

    expect(decision.verdict).toBe(verdict);
    expect(decision.noChecks).toBe(noChecks);
    expect(decision.noneRan).toBe(false);
    expect(decision.recheckAt).toEqual(recheckAt);
  });

  it("says so when it passes without checks", () => {
    const decision = gate({ whenNone: "pass", now: minute(30) });

    expect(decision.reason).toBe(
      "passed with no checks: none appeared on the head within 10 minutes",
    );
  });
});

describe("decideGate: no checks, whenNone: wait (the default)", () => {
  it.each<[string, Partial<GateInput>, GateVerdict, boolean, Date | null]>([
    ["before the deadline: pending until it", { now: minute(9) }, "pending", false, minute(10)],
    ["at the deadline: held, no recheck", { now: minute(10) }, "pending", true, null],
    ["long after the deadline: still held", { now: minute(600) }, "pending", true, null],
    [
      "a deadline of zero holds at once",
      { startDeadlineMinutes: 0, now: SINCE },
      "pending",
      true,
      null,
    ],
    [
      "the deadline runs from a later head push",
      { headPushedAt: minute(30), now: minute(35) },
      "pending",
      false,
      minute(40),
    ],
    [
      "only kanbot's own run after the deadline: held",
      {
        now: minute(11),
        checkRuns: [run("kanbot", "success", { app: { id: KANBOT_APP, slug: "kanbot" } })],
      },
      "pending",
      true,
      null,
    ],
    [
      "only checks on an older head after the deadline: held",
      { now: minute(11), checkRuns: [run("build", "success", { headSha: OLD })] },
      "pending",
      true,
      null,
    ],
    [
      "named required checks: waiting for them, not held for want of any",
      { now: minute(600), configured: ["build"] },
      "pending",
      false,
      null,
    ],
  ])("%s", (_name, input, verdict, noneRan, recheckAt) => {
    const decision = gate(input);

    expect(decision.verdict).toBe(verdict);
    expect(decision.noChecks).toBe(false);
    expect(decision.noneRan).toBe(noneRan);
    expect(decision.recheckAt).toEqual(recheckAt);
  });

  it("says that no check ran, and what it waits for", () => {
    const decision = gate({ now: minute(30) });

    expect(decision.reason).toBe(
      "no check ran on the head within 10 minutes; waiting for a check or /kanbot ready",
    );
  });

  it.each<[string, CheckRunInput, GateVerdict]>([
    [
      "a check that starts after the deadline: judged as any, pending",
      run("build", null),
      "pending",
    ],
    ["a check that passes after the deadline: passed on it", run("build", "success"), "passed"],
    ["a check that fails after the deadline: failed", run("build", "failure"), "failed"],
  ])("%s", (_name, check, verdict) => {
    const held = gate({ now: minute(20) });

    const decision = gate({ now: minute(20), checkRuns: [check] });

    expect(held).toMatchObject({ verdict: "pending", noneRan: true });
    expect(decision).toMatchObject({ verdict, noneRan: false, noChecks: false });
  });
});

describe("decideGate: /kanbot ready (readyBy)", () => {
  it.each<[string, Partial<GateInput>]>([
    ["held after the deadline", { now: minute(30) }],
    ["before the deadline", { now: minute(3) }],
    ["with whenNone: pass, before the deadline", { whenNone: "pass", now: minute(3) }],
  ])("a head with no check passes without checks: %s", (_name, input) => {
    const decision = gate({ ...input, readyBy: "maintainer" });

    expect(decision).toMatchObject({
      verdict: "passed",
      noChecks: true,
      noneRan: false,
      recheckAt: null,
      reason: "passed with no checks: @maintainer said /kanbot ready",
    });
  });

  it.each<[string, Partial<GateInput>, GateVerdict]>([
    ["a check still running", { checkRuns: [run("build", null)] }, "pending"],
    ["a failed check", { checkRuns: [run("build", "failure")] }, "failed"],
    ["a named required check not reported", { configured: ["build"] }, "pending"],
    ["a required check from branch protection", { protection: [{ name: "sec" }] }, "pending"],
  ])("never waives a check: %s", (_name, input, verdict) => {
    const decision = gate({ ...input, now: minute(30), readyBy: "maintainer" });

    expect(decision.verdict).toBe(verdict);
    expect(decision.noChecks).toBe(false);
  });
});
