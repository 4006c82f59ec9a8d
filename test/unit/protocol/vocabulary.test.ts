import { describe, expect, it } from "vitest";
import * as domain from "../../../src/domain/types.js";
import { BUILT_IN_AGENTS, JOB_KINDS, JOB_OUTCOME_STATUSES } from "../../../src/protocol/index.js";

describe("protocol vocabulary (copied from the domain, which src/protocol/ may not import)", () => {
  it("has the domain's job kinds", () => {
    expect([...JOB_KINDS]).toEqual([...domain.JOB_KINDS]);
  });

  it("has the domain's built-in agents", () => {
    expect([...BUILT_IN_AGENTS]).toEqual([...domain.BUILT_IN_AGENTS]);
  });

  it("offers only terminal job statuses a runner may report", () => {
    const terminal: readonly string[] = domain.TERMINAL_JOB_STATUSES;

    expect(JOB_OUTCOME_STATUSES.every((status) => terminal.includes(status))).toBe(true);
    expect(JOB_OUTCOME_STATUSES).not.toContain("lost");
  });
});
