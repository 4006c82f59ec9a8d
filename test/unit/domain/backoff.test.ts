import { describe, expect, it } from "vitest";

import { backoffDelaySeconds, DEFAULT_BACKOFF, retryAt } from "../../../src/domain/backoff.js";

describe("backoffDelaySeconds", () => {
  it.each([
    [0, 0],
    [-1, 0],
    [Number.NaN, 0],
    [1, 60],
    [2, 120],
    [3, 240],
    [4, 480],
    [5, 960],
    [6, 1800],
    [7, 1800],
    [1000, 1800],
  ])("after %s consecutive failures waits %s s (default policy)", (failures, seconds) => {
    expect(backoffDelaySeconds(failures, DEFAULT_BACKOFF)).toBe(seconds);
  });

  it.each([
    [{ baseSeconds: 10, factor: 3, maxSeconds: 100 }, [10, 30, 90, 100]],
    [{ baseSeconds: 5, factor: 1, maxSeconds: 60 }, [5, 5, 5, 5]],
    [{ baseSeconds: 0, factor: 2, maxSeconds: 60 }, [0, 0, 0, 0]],
  ])("follows policy %o", (policy, expected) => {
    expect([1, 2, 3, 4].map((n) => backoffDelaySeconds(n, policy))).toEqual(expected);
  });
});

describe("retryAt", () => {
  it("adds the delay to now without touching now", () => {
    const now = new Date("2025-03-01T12:00:00.000Z");

    const at = retryAt(now, 2);

    expect(at.toISOString()).toBe("2025-03-01T12:02:00.000Z");
    expect(now.toISOString()).toBe("2025-03-01T12:00:00.000Z");
  });
});
