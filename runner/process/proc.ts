/**
 * Finding a job's processes through Linux's /proc, for the processes a process-group kill does
 * not reach: a descendant that called `setsid` (or `setpgid`) leads a group of its own.
 *
 * Two ways, used together:
 * - the parent chain: while the job runs, every descendant of its root process is recorded
 *   (pid + start time, so a reused pid is never mistaken for it). A descendant whose parent died
 *   is re-parented to init and can no longer be found by walking down from the root, which is why
 *   the record is made while everything is still alive;
 * - the environment marker: every process of a job inherits `KANBOT_JOB_ID=<id>`; a process is
 *   the job's when its /proc/<pid>/environ holds that line. This finds what escaped between two
 *   recordings, unless it cleared its own environment.
 *
 * On systems without /proc (macOS) both return nothing and only the process group is killed.
 */
import { readdir, readFile } from "node:fs/promises";

/** A process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The process group id. */
  pgid: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process over time. */
  startTime: string;
  /** The state letter: `R`, `S`, `D`, `T`, `Z` (zombie: exited, waiting to be reaped)… */
  state: string;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone (or there is no /proc). */
export async function readProcInfo(pid: number): Promise<ProcInfo | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStat(stat);
}

/**
 * Parses a /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself
 * contain spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseStat(stat: string): ProcInfo | undefined {
  const close = stat.lastIndexOf(")");
  if (close === -1) return undefined;
  const pid = Number.parseInt(stat.slice(0, stat.indexOf(" ")), 10);
  // After ")": state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) minflt(10)
  // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15) cutime(16) cstime(17) priority(18)
  // nice(19) num_threads(20) itrealvalue(21) starttime(22).
  const rest = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const ppid = Number.parseInt(rest[1] ?? "", 10);
  const pgid = Number.parseInt(rest[2] ?? "", 10);
  const startTime = rest[19];
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || startTime === undefined)
    return undefined;
  return { pid, ppid, pgid, startTime, state: rest[0] ?? "" };
}

/** Every process /proc lists (empty without /proc). */
export async function listProcesses(): Promise<ProcInfo[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return [];
  }
  const infos = await Promise.all(
    entries.filter((name) => /^\d+$/.test(name)).map((name) => readProcInfo(Number(name))),
  );
  return infos.filter((info): info is ProcInfo => info !== undefined);
}

/** The descendants of `rootPid` (not the root itself), found by walking the parent chain. */
export function descendantsOf(rootPid: number, processes: readonly ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const info of processes) {
    const list = children.get(info.ppid) ?? [];
    list.push(info);
    children.set(info.ppid, list);
  }
  const found: ProcInfo[] = [];
  const queue = [rootPid];
  const seen = new Set<number>([rootPid]);
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Pids of processes whose environment holds `<name>=<value>` (only those we may read). */
export async function processesWithEnv(
  name: string,
  value: string,
  processes: readonly ProcInfo[],
): Promise<ProcInfo[]> {
  const needle = Buffer.from(`${name}=${value}\0`);
  const head = Buffer.from(`\0${name}=${value}\0`);
  const matches = await Promise.all(
    processes.map(async (info) => {
      try {
        const environ = await readFile(`/proc/${info.pid}/environ`);
        const hit = environ.subarray(0, needle.length).equals(needle) || environ.includes(head);
        return hit ? info : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return matches.filter((info): info is ProcInfo => info !== undefined);
}

/**
 * Whether `info` still names the same running process: not a reused pid, and not a zombie (a
 * zombie has exited and only waits for its parent, often init, to reap it).
 */
export async function isSameProcess(info: ProcInfo): Promise<boolean> {
  const now = await readProcInfo(info.pid);
  return now !== undefined && now.startTime === info.startTime && now.state !== "Z";
}

/**
 * Whether the process group still has a member that is not a zombie. Without /proc, falls back
 * to `kill(-pgid, 0)`, which also counts zombies.
 */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  const processes = await listProcesses();
  if (processes.length === 0) return true;
  return processes.some((info) => info.pgid === pgid && info.state !== "Z");
}
