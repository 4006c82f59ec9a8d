/**
 * Runs one command for a job: execa with `shell: false` and an explicit environment, the child
 * leading its own process group, a wall-clock limit, a silence limit and cancel through an
 * AbortSignal. Stopping is SIGTERM to the whole group (and to every recorded descendant that left
 * it), then SIGKILL after a grace period; when the command ends by itself, whatever it left
 * running is swept the same way. Output is redacted, split into lines and capped (output.ts).
 *
 * Steps:
 * 1. spawn (detached: the child calls setsid and leads a new group)
 * 2. watch: limits, cancel, output, and a periodic record of descendants (one /proc scan per
 *    tick shared by all running commands: scanner.ts)
 * 3. on a limit or cancel: terminate the tree (TERM, grace, KILL)
 * 4. on exit: sweep what is left of the tree, wait for the pipes to close, report
 *
 * With a sandbox (runner/sandbox/), the command line is wrapped first and the child is bubblewrap:
 * everything the command starts lives in the sandbox's PID namespace and dies with it when the
 * command exits. The group kill and the /proc sweep stay as a second line of defence (and the
 * only one with `sandbox: none`); to keep the grace period, a stop sends SIGTERM to the processes
 * inside and kills bubblewrap itself only with the final SIGKILL.
 *
 * Why one long file: spawning a command, its timeout, its process group's kill and the sweep of
 * what it left running share the child's state; split, each would need the others' handles.
 */
import { execa } from "execa";
import type { Logger } from "pino";

import { ExecError, SpawnError, type StopReason } from "./errors.js";
import { createOutputPipeline, type OutputStream } from "./output.js";
import {
  descendantsOf,
  groupHasLiveMembers,
  isSameProcess,
  processesWithEnv,
  readProcInfo,
  type ProcInfo,
} from "./proc.js";
import { sharedScanner, type ProcessScanner } from "./scanner.js";
import { JOB_MARKER_VARIABLE } from "./env.js";
import type { CommandSandbox } from "../sandbox/types.js";

export interface RunLimits {
  /** Wall-clock limit in milliseconds. */
  timeoutMs: number;
  /** Stop when the command prints nothing (stdout or stderr) for this long. */
  silenceMs?: number;
  /** Time between SIGTERM and SIGKILL. */
  graceMs?: number;
  /** Cap of the log passed to `onLog`, in bytes (default 5 MiB). */
  maxLogBytes?: number;
}

export interface RunCommandOptions {
  /** The program; looked up in `env.PATH` (never run through a shell). */
  command: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the child (build it with `buildChildEnv`). */
  env: Readonly<Record<string, string>>;
  limits: RunLimits;
  /** A file fed to the child's stdin (the prompt, for CLIs that read it there); else stdin is empty. */
  stdinFile?: string;
  signal?: AbortSignal;
  /** Secrets to redact from everything this command prints. */
  secrets?: readonly string[];
  /** Each complete line, redacted and uncapped: for parsing an agent's output. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Redacted log text in batches of whole lines, capped: for shipping to the app. */
  onLog?: (text: string, stream: OutputStream) => void;
  log?: Logger;
  /**
   * Records descendants while the command runs, one scan per tick for all commands (default:
   * the runner's shared scanner).
   */
  scanner?: ProcessScanner;
  /** The job's sandbox: the command runs inside it (default: none, as it is). */
  sandbox?: CommandSandbox;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  /** Why it stopped: by itself (`exit`), or stopped by the runner. */
  reason: StopReason;
  durationMs: number;
  /** Pid of the child (the leader of its process group). */
  pid: number | undefined;
  /** Bytes of log passed to `onLog`, and whether the cap cut it. */
  logBytes: number;
  truncated: boolean;
  /** The last lines of stderr, redacted. */
  stderrTail: string;
  /** Processes outside the child's group that the sweep signalled (setsid escapees). */
  sweptPids: number[];
}

const DEFAULT_GRACE_MS = 5_000;
const DEFAULT_MAX_LOG_BYTES = 5 * 1024 * 1024;
const MAX_LINE_BYTES = 4 * 1024 * 1024;
const STDERR_TAIL_LINES = 40;
/** How long to wait for SIGKILLed processes to disappear (only D-state processes take long). */
const KILL_WAIT_MS = 5_000;

/**
 * Runs a command to its end. Never throws for a failing command (an agent failing is an outcome,
 * see {@link checkSuccess}); throws {@link SpawnError} when it cannot start.
 */
export async function runCommand(options: RunCommandOptions): Promise<RunResult> {
  const started = Date.now();
  const output = createOutputPipeline({
    secrets: options.secrets ?? [],
    maxLogBytes: options.limits.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    maxLineBytes: MAX_LINE_BYTES,
    onLine: options.onLine,
    onLog: options.onLog,
    stderrTailLines: STDERR_TAIL_LINES,
  });

  if (options.signal?.aborted) {
    return {
      exitCode: null,
      signal: null,
      reason: "canceled",
      durationMs: 0,
      pid: undefined,
      logBytes: 0,
      truncated: false,
      stderrTail: "",
      sweptPids: [],
    };
  }

  // 1. spawn (inside the sandbox when there is one)
  const line =
    options.sandbox === undefined
      ? { ...options, supervised: false }
      : await options.sandbox.wrap({
          command: options.command,
          args: options.args,
          cwd: options.cwd,
          env: options.env,
        });
  const subprocess = execa(line.command, [...line.args], {
    cwd: line.cwd,
    env: { ...line.env },
    extendEnv: false,
    shell: false,
    detached: true,
    stdin: options.stdinFile === undefined ? "ignore" : { file: options.stdinFile },
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    cleanup: false,
    windowsHide: true,
  });
  const pid = subprocess.pid;
  const jobMarker = options.env[JOB_MARKER_VARIABLE];
  const tree = new TreeTracker(pid, jobMarker, options.scanner ?? sharedScanner, line.supervised);

  // 2. watch
  let reason: StopReason = "exit";
  let stopping: Promise<void> | undefined;
  const graceMs = options.limits.graceMs ?? DEFAULT_GRACE_MS;
  const exited = onceExited(subprocess);

  function stop(why: Exclude<StopReason, "exit">): void {
    if (stopping !== undefined) return;
    reason = why;
    options.log?.warn({ pid, reason: why }, "stopping command");
    stopping = tree.terminate(graceMs, exited.done);
  }

  const wallClock = setTimeout(() => stop("timeout"), options.limits.timeoutMs);
  let silence: NodeJS.Timeout | undefined;
  function armSilence(): void {
    if (options.limits.silenceMs === undefined) return;
    if (silence !== undefined) clearTimeout(silence);
    silence = setTimeout(() => stop("silence"), options.limits.silenceMs);
  }
  armSilence();
  const onAbort = (): void => stop("canceled");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // Tracked until the final sweep is done, so descendants started during the grace period are
  // recorded too.
  const untrack = tree.track();

  for (const stream of ["stdout", "stderr"] as const) {
    subprocess[stream]?.on("data", (chunk: Buffer) => {
      armSilence();
      output.write(stream, chunk);
    });
  }

  let spawnError: unknown;
  const finished = subprocess.then(
    (result) => result,
    (error: unknown) => {
      spawnError = error;
      return undefined;
    },
  );

  try {
    // 4. on exit: sweep leftovers (a grandchild keeping our pipes open would otherwise hold
    // `finished` forever), then wait for the pipes.
    const exit = await Promise.race([exited.promise, finished.then(() => undefined)]);
    clearTimeout(wallClock);
    if (silence !== undefined) clearTimeout(silence);
    if (stopping === undefined && pid !== undefined) {
      stopping = tree.terminate(graceMs, () => true);
    }
    await stopping;
    const result = await finished;
    output.end();
    if (spawnError !== undefined || result === undefined || pid === undefined) {
      const failure = (result as { cause?: unknown } | undefined)?.cause ?? spawnError;
      throw new SpawnError(options.command, errorCode(failure), failure);
    }
    const exitCode = exit?.code ?? result.exitCode ?? null;
    const signal = exit?.signal ?? result.signal ?? null;
    if (
      result.failed &&
      result.exitCode === undefined &&
      result.signal === undefined &&
      reason === "exit"
    ) {
      throw new SpawnError(options.command, errorCode(result.cause), result.cause);
    }
    const run: RunResult = {
      exitCode,
      signal,
      reason,
      durationMs: Date.now() - started,
      pid,
      logBytes: output.logBytes,
      truncated: output.truncated,
      stderrTail: output.stderrTail(),
      sweptPids: tree.swept,
    };
    options.log?.debug({ pid, exitCode, signal, reason, cmd: options.command }, "command finished");
    return run;
  } finally {
    clearTimeout(wallClock);
    if (silence !== undefined) clearTimeout(silence);
    untrack();
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Throws {@link ExecError} unless the command exited by itself with code 0. */
export function checkSuccess(result: RunResult, cmd: string): RunResult {
  if (result.reason === "exit" && result.exitCode === 0) return result;
  throw new ExecError({
    cmd,
    exitCode: result.exitCode,
    signal: result.signal,
    reason: result.reason,
    stderr: result.stderrTail,
    durationMs: result.durationMs,
  });
}

interface ExitInfo {
  code: number | null;
  signal: string | null;
}

/** The child's `exit` event (before its pipes close), as a promise and a flag. */
function onceExited(child: {
  on(event: "exit", listener: (code: number | null, signal: string | null) => void): unknown;
}) {
  let done = false;
  const promise = new Promise<ExitInfo>((resolve) => {
    child.on("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return { promise, done: () => done };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Everything one command started: its process group, plus descendants recorded while running
 * and processes carrying the job marker (see proc.ts for why both).
 */
class TreeTracker {
  private readonly known = new Map<number, ProcInfo>();
  readonly swept: number[] = [];

  constructor(
    private readonly rootPid: number | undefined,
    private readonly jobMarker: string | undefined,
    private readonly scanner: ProcessScanner,
    /** The root is a sandbox supervisor: it gets SIGKILL only, after what runs inside it. */
    private readonly supervised = false,
  ) {}

  /** Records descendants from every scan of the shared scanner; returns the untrack function. */
  track(): () => void {
    if (this.rootPid === undefined) return () => undefined;
    return this.scanner.track((processes) => this.absorb(processes));
  }

  /** Records the root's descendants in `processes`; true when one was not known yet. */
  private absorb(processes: readonly ProcInfo[]): boolean {
    if (this.rootPid === undefined) return false;
    let changed = false;
    for (const info of descendantsOf(this.rootPid, processes)) {
      const before = this.known.get(info.pid);
      if (before === undefined || before.startTime !== info.startTime) changed = true;
      this.known.set(info.pid, info);
    }
    return changed;
  }

  /**
   * SIGTERM to the group and every live member of the tree, then SIGKILL after `graceMs` to
   * whatever is still there. `rootExited` says whether the root is already gone (then a group
   * without members needs no grace period).
   */
  async terminate(graceMs: number, rootExited: () => boolean): Promise<void> {
    if (this.rootPid === undefined) return;
    const outside = await this.outsiders();
    if (this.supervised) {
      // SIGTERM would kill the supervisor and, with it, everything inside at once: the processes
      // inside get it instead (the sandbox's init ignores it), the supervisor waits for them.
      for (const info of this.known.values()) {
        if (await isSameProcess(info)) signalPid(info.pid, "SIGTERM");
      }
    } else {
      signalGroup(this.rootPid, "SIGTERM");
    }
    for (const info of outside) signalPid(info.pid, "SIGTERM");
    if (!(await groupHasLiveMembers(this.rootPid)) && outside.length === 0) return;
    await this.waitForEnd(graceMs, rootExited);
    signalGroup(this.rootPid, "SIGKILL");
    for (const info of await this.outsiders()) {
      signalPid(info.pid, "SIGKILL");
    }
    for (const info of outside) signalPid(info.pid, "SIGKILL");
    // kill() returns before the target is gone: wait (bounded) so that when the result is
    // reported, the tree is really dead.
    await this.waitForEnd(KILL_WAIT_MS, () => true);
  }

  /**
   * Live members of the tree that are not in the root's process group, from a fresh scan (never
   * only the last periodic snapshot): descendants recorded now or earlier, plus every process
   * carrying the job marker.
   */
  private async outsiders(): Promise<ProcInfo[]> {
    const rootPid = this.rootPid as number;
    const processes = await this.scanner.scanNow();
    this.absorb(processes);
    const candidates = new Map(this.known);
    if (this.jobMarker !== undefined) {
      for (const info of await processesWithEnv(JOB_MARKER_VARIABLE, this.jobMarker, processes)) {
        if (info.pid !== process.pid) candidates.set(info.pid, info);
      }
    }
    const alive: ProcInfo[] = [];
    for (const info of candidates.values()) {
      if (!(await isSameProcess(info))) continue;
      const now = await readProcInfo(info.pid);
      if (now === undefined || now.pgid === rootPid) continue;
      alive.push(info);
      if (!this.swept.includes(info.pid)) this.swept.push(info.pid);
    }
    return alive;
  }

  /** Waits up to `graceMs` for the group and the outsiders to be gone. */
  private async waitForEnd(graceMs: number, rootExited: () => boolean): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      const groupAlive = await groupHasLiveMembers(this.rootPid as number);
      const outside = await this.outsiders();
      if (!groupAlive && outside.length === 0 && rootExited()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Signals a process group (nothing happens when it no longer exists). */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
