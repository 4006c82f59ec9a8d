import { describe, expect, it } from "vitest";

import {
  DEFAULT_STATE_LABELS,
  isEmptyLabelChange,
  isStateLabel,
  isTriggerLabel,
  labelDefinitions,
  labelNameClashes,
  planLabelChange,
  resolveLabelNames,
  stateForLabel,
  stateLabel,
  stateLabelDefinition,
} from "../../../src/domain/labels.js";
import { TASK_STATES, type TaskState } from "../../../src/domain/types.js";

const names = resolveLabelNames();

describe("resolveLabelNames", () => {
  it("uses the defaults of DESIGN section 2", () => {
    expect(names).toEqual({
      trigger: "agent:ready",
      states: {
        waiting: "agent:waiting",
        queued: "agent:queued",
        running: "agent:working",
        checks: "agent:checks",
        "needs-input": "agent:needs-input",
        review: "agent:review",
        done: "agent:done",
        blocked: "agent:blocked",
      },
    });
  });

  it("takes overrides and keeps the other defaults", () => {
    const custom = resolveLabelNames({ states: { running: "bot:busy" }, trigger: "bot:go" });

    expect(custom.states.running).toBe("bot:busy");
    expect(custom.states.queued).toBe("agent:queued");
    expect(custom.trigger).toBe("bot:go");
  });

  it("refuses two roles with one name (case-insensitive)", () => {
    expect(() => resolveLabelNames({ states: { waiting: "Agent:Queued" } })).toThrow(
      /"waiting" and "queued" both use "Agent:Queued"/,
    );
  });

  it("refuses a state label equal to the trigger label", () => {
    expect(() => resolveLabelNames({ trigger: "agent:done" })).toThrow(/"done" and "trigger"/);
  });

  it("finds no clash in the defaults", () => {
    expect(labelNameClashes(names)).toEqual([]);
  });
});

describe("stateLabel and stateForLabel", () => {
  it.each<[TaskState, string | undefined]>([
    ["waiting", "agent:waiting"],
    ["queued", "agent:queued"],
    ["running", "agent:working"],
    ["checks", "agent:checks"],
    ["review", "agent:review"],
    ["done", "agent:done"],
    ["blocked", "agent:blocked"],
    ["canceled", undefined],
  ])("%s <-> %s", (state, label) => {
    expect(stateLabel(state, names)).toBe(label);
    if (label !== undefined) expect(stateForLabel(label, names)).toBe(state);
  });

  it.each([
    ["agent:working", true],
    ["Agent:Working", true],
    ["agent:ready", false],
    ["use:codex", false],
    ["bug", false],
    ["agent:canceled", false],
  ])("isStateLabel(%s) = %s", (label, expected) => {
    expect(isStateLabel(label, names)).toBe(expected);
  });

  it.each([
    ["agent:ready", true],
    ["AGENT:READY", true],
    ["agent:queued", false],
  ])("isTriggerLabel(%s) = %s", (label, expected) => {
    expect(isTriggerLabel(label, names)).toBe(expected);
  });
});

describe("label definitions", () => {
  it("gives every labelled state a colour and a description within GitHub's limits", () => {
    const definitions = labelDefinitions(names);

    expect(definitions.map((d) => d.name)).toEqual([
      "agent:ready",
      ...Object.values(DEFAULT_STATE_LABELS),
    ]);
    for (const definition of definitions) {
      expect(definition.color).toMatch(/^[0-9a-f]{6}$/);
      expect(definition.description.length).toBeGreaterThan(0);
      expect(definition.description.length).toBeLessThanOrEqual(100);
    }
    expect(new Set(definitions.map((d) => d.color)).size).toBe(definitions.length);
  });

  it("has none for canceled and uses configured names", () => {
    const custom = resolveLabelNames({ states: { blocked: "help-wanted:bot" } });

    expect(stateLabelDefinition("canceled", custom)).toBeUndefined();
    expect(stateLabelDefinition("blocked", custom)?.name).toBe("help-wanted:bot");
  });

  it("covers every state but canceled", () => {
    const defined = TASK_STATES.filter((state) => stateLabelDefinition(state, names) !== undefined);

    expect(defined).toEqual([
      "waiting",
      "queued",
      "running",
      "checks",
      "needs-input",
      "review",
      "done",
      "blocked",
    ]);
  });
});

describe("planLabelChange", () => {
  it.each<[string, string[], TaskState, string[], string[]]>([
    ["accepting a trigger", ["bug", "agent:ready"], "queued", ["agent:queued"], ["agent:ready"]],
    [
      "moving forward",
      ["agent:queued", "use:codex"],
      "running",
      ["agent:working"],
      ["agent:queued"],
    ],
    ["already there", ["agent:checks"], "checks", [], []],
    ["already there, other case", ["Agent:Checks"], "checks", [], []],
    [
      "canceling removes every state label",
      ["agent:working", "bug"],
      "canceled",
      [],
      ["agent:working"],
    ],
    [
      "cleans up stray state labels",
      ["agent:queued", "agent:working", "agent:ready"],
      "blocked",
      ["agent:blocked"],
      ["agent:queued", "agent:working", "agent:ready"],
    ],
    [
      "re-run of a blocked task",
      ["agent:blocked", "agent:ready"],
      "queued",
      ["agent:queued"],
      ["agent:blocked", "agent:ready"],
    ],
    ["waiting", ["agent:ready"], "waiting", ["agent:waiting"], ["agent:ready"]],
    ["nothing to do for canceled without labels", ["bug"], "canceled", [], []],
  ])("%s", (_name, current, to, add, remove) => {
    const change = planLabelChange(current, to, names);

    expect(change).toEqual({ add, remove });
  });

  it("uses configured names", () => {
    const custom = resolveLabelNames({ states: { queued: "kanbot/queued" }, trigger: "kanbot/go" });

    const change = planLabelChange(["kanbot/go"], "queued", custom);

    expect(change).toEqual({ add: ["kanbot/queued"], remove: ["kanbot/go"] });
  });

  it("tells an empty change", () => {
    expect(isEmptyLabelChange({ add: [], remove: [] })).toBe(true);
    expect(isEmptyLabelChange({ add: ["x"], remove: [] })).toBe(false);
  });
});
