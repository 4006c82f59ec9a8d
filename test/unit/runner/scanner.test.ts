// The shared /proc scanner with a fake process table (an injected reader) and fake timers: scans
// are counted, never timed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { descendantsOf, type ProcInfo } from "../../../runner/process/proc.js";
import { ProcessScanner } from "../../../runner/process/scanner.js";

const proc = (pid: number, ppid: number, startTime = "1"): ProcInfo => ({
  pid,
  ppid,
  pgid: pid,
  startTime,
  state: "S",
});

/** A fake process table and a reader that counts its calls. */
function fakeTable(initial: ProcInfo[]) {
  const table = { processes: [...initial], reads: 0 };
  const listProcesses = () => {
    table.reads += 1;
    return Promise.resolve([...table.processes]);
  };
  return { table, listProcesses };
}

/** A listener like run-command's: records the root's descendants, says whether one was new. */
function recorder(rootPid: number) {
  const known = new Map<number, ProcInfo>();
  let snapshots = 0;
  const listener = (processes: readonly ProcInfo[]) => {
    snapshots += 1;
    let changed = false;
    for (const info of descendantsOf(rootPid, processes)) {
      if (!known.has(info.pid)) changed = true;
      known.set(info.pid, info);
    }
    return changed;
  };
  return { listener, known, snapshots: () => snapshots };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("ProcessScanner", () => {
  it("two commands tracked at once share one scan per tick", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1), proc(11, 10), proc(20, 1)]);
    const scanner = new ProcessScanner({ listProcesses, fastMs: 250, slowMs: 1_000 });
    const a = recorder(10);
    const b = recorder(20);

    const untrackA = scanner.track(a.listener);
    const untrackB = scanner.track(b.listener);
    await vi.advanceTimersByTimeAsync(0);

    expect(table.reads).toBe(1);
    expect(scanner.scans).toBe(1);
    expect(a.snapshots()).toBe(1);
    expect(b.snapshots()).toBe(1);

    table.processes.push(proc(21, 20));
    await vi.advanceTimersByTimeAsync(250);
    await vi.advanceTimersByTimeAsync(250);

    expect(table.reads).toBe(3);
    expect(a.snapshots()).toBe(3);
    expect(b.snapshots()).toBe(3);
    expect([...a.known.keys()]).toEqual([11]);
    expect([...b.known.keys()]).toEqual([21]);

    untrackA();
    untrackB();
  });

  it("starts with the first tracked command and stops when the last one is untracked", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1)]);
    const scanner = new ProcessScanner({ listProcesses });

    await vi.advanceTimersByTimeAsync(5_000);
    expect(table.reads).toBe(0);
    expect(scanner.running).toBe(false);

    const untrack = scanner.track(recorder(10).listener);
    expect(scanner.running).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(table.reads).toBe(1);

    untrack();
    expect(scanner.running).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(table.reads).toBe(1);
  });

  it("keeps scanning for a command after another one ended first", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1), proc(20, 1)]);
    const scanner = new ProcessScanner({ listProcesses, fastMs: 250 });
    const a = recorder(10);
    const b = recorder(20);
    scanner.track(a.listener);
    const untrackB = scanner.track(b.listener);
    await vi.advanceTimersByTimeAsync(0);

    untrackB();
    table.processes.push(proc(11, 10), proc(12, 11));
    await vi.advanceTimersByTimeAsync(250);

    expect(scanner.running).toBe(true);
    expect([...a.known.keys()]).toEqual([11, 12]);
    expect(b.known.size).toBe(0);
  });

  it("backs off to the slow interval once the trees are stable, and speeds up on a change", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1), proc(11, 10)]);
    const scanner = new ProcessScanner({
      listProcesses,
      fastMs: 250,
      slowMs: 1_000,
      stableScans: 4,
    });
    scanner.track(recorder(10).listener);
    await vi.advanceTimersByTimeAsync(0); // the first scan finds 11: a change
    expect(scanner.intervalMs).toBe(250);

    await vi.advanceTimersByTimeAsync(4 * 250); // four scans without anything new
    expect(table.reads).toBe(5);
    expect(scanner.intervalMs).toBe(1_000);

    await vi.advanceTimersByTimeAsync(999);
    expect(table.reads).toBe(5);
    table.processes.push(proc(12, 11));
    await vi.advanceTimersByTimeAsync(1);
    expect(table.reads).toBe(6);
    expect(scanner.intervalMs).toBe(250);
  });

  it("a newly tracked command brings the fast interval back and gets a scan at once", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1), proc(20, 1)]);
    const scanner = new ProcessScanner({
      listProcesses,
      fastMs: 250,
      slowMs: 1_000,
      stableScans: 2,
    });
    scanner.track(recorder(10).listener);
    await vi.advanceTimersByTimeAsync(3 * 250);
    expect(scanner.intervalMs).toBe(1_000);
    const reads = table.reads;

    scanner.track(recorder(20).listener);
    await vi.advanceTimersByTimeAsync(0);

    expect(table.reads).toBe(reads + 1);
    expect(scanner.intervalMs).toBe(250);
  });

  it("scanNow reads the table afresh and feeds every tracked command", async () => {
    const { table, listProcesses } = fakeTable([proc(10, 1)]);
    const scanner = new ProcessScanner({ listProcesses });
    const a = recorder(10);
    scanner.track(a.listener);
    await vi.advanceTimersByTimeAsync(0);

    table.processes.push(proc(11, 10));
    const processes = await scanner.scanNow();

    expect(table.reads).toBe(2);
    expect(processes.map((info) => info.pid)).toContain(11);
    expect([...a.known.keys()]).toEqual([11]);
  });
});
