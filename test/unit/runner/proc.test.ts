import { describe, expect, it } from "vitest";

import { descendantsOf, parseStat, type ProcInfo } from "../../../runner/process/proc.js";

describe("parseStat", () => {
  it("reads pid, ppid, pgid and start time, even with spaces and parens in the name", () => {
    const stat =
      "4242 (node (worker) x) S 4000 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 7 0 987654 1000 200";

    expect(parseStat(stat)).toEqual({
      pid: 4242,
      ppid: 4000,
      pgid: 4242,
      startTime: "987654",
      state: "S",
    });
  });

  it("returns undefined for garbage", () => {
    expect(parseStat("nonsense")).toBeUndefined();
  });
});

describe("descendantsOf", () => {
  const proc = (pid: number, ppid: number): ProcInfo => ({
    pid,
    ppid,
    pgid: pid,
    startTime: "1",
    state: "S",
  });

  it("walks the parent chain breadth first and ignores unrelated processes", () => {
    const processes = [
      proc(1, 0),
      proc(10, 1),
      proc(11, 10),
      proc(12, 11),
      proc(13, 10),
      proc(20, 1),
    ];

    const found = descendantsOf(10, processes).map((info) => info.pid);

    expect(found).toEqual([11, 13, 12]);
  });
});
