import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createRunnerApi, type RunnerApiOptions } from "../../../src/api/index.js";
import type { JobStore } from "../../../src/store/index.js";

describe("createRunnerApi", () => {
  it("refuses to be built without a workspace resolver (jobs would ignore .github/kanbot.yml)", () => {
    const options = {
      store: {} as JobStore,
      limits: { leaseMs: 1, claimTimeoutMs: 1, maxBodyBytes: 1, jobLogMaxBytes: 1 },
      log: pino({ level: "silent" }),
      jobTokens: {} as RunnerApiOptions["jobTokens"],
    };

    expect(() => createRunnerApi(options as unknown as RunnerApiOptions)).toThrow(
      /needs resolveWorkspace/,
    );
  });
});
