import { describe, expect, it } from "vitest";

import { backoffDelay } from "../../../runner/backoff.js";

describe("backoffDelay", () => {
  it.each([
    [1, 0, 500],
    [1, 0.999_999, 1_000],
    [2, 0, 1_000],
    [3, 0.5, 3_000],
    [10, 0, 30_000],
    [50, 0.999_999, 60_000],
  ])("failure %i with jitter %d waits %i ms", (failures, random, expected) => {
    expect(backoffDelay(failures, { initialMs: 1_000, maxMs: 60_000, random: () => random })).toBe(
      expected,
    );
  });
});
