/**
 * Git with a job token runs only when no process of that job is alive (DESIGN section 7): a
 * process the job left behind could otherwise read the token from the environment of the
 * runner's `git fetch` / `git push`. Inside the sandbox nothing outlives the job's command (its
 * PID namespace dies with it); without one, run-command's sweep kills what it finds. This is the
 * last check before each token-carrying git call: it looks for any live process carrying the
 * job's marker (`KANBOT_JOB_ID=<marker>`), kills what it finds, and refuses when something
 * survives.
 */
import { JOB_MARKER_VARIABLE } from "./env.js";
import { isSameProcess, listProcesses, processesWithEnv, type ProcInfo } from "./proc.js";

/** A process of the job is still alive: git with the job token is refused. */
export class JobProcessAliveError extends Error {
  readonly pids: readonly number[];

  constructor(marker: string, pids: readonly number[]) {
    super(
      `a process of this job is still alive (pid ${pids.join(", ")}, ${JOB_MARKER_VARIABLE}=${marker}) and could not be killed; git with the job token was not run. Stop it by hand and retry the task`,
    );
    this.name = "JobProcessAliveError";
    this.pids = pids;
  }
}

export interface QuietOptions {
  /** How long killed processes get to disappear. Default 2 s. */
  waitMs?: number;
  /** The runner's own pid is never counted (it does not carry the marker, but be sure). */
  selfPid?: number;
}

/** Live (non-zombie) processes carrying the job's marker. */
export async function jobProcesses(marker: string, selfPid = process.pid): Promise<ProcInfo[]> {
  const found = await processesWithEnv(JOB_MARKER_VARIABLE, marker, await listProcesses());
  return found.filter((info) => info.pid !== selfPid && info.state !== "Z");
}

/**
 * Resolves once no process of the job is alive: kills (SIGKILL) any it finds and waits for them
 * to go; throws {@link JobProcessAliveError} when one survives the wait.
 */
export async function ensureJobQuiet(marker: string, options: QuietOptions = {}): Promise<void> {
  const waitMs = options.waitMs ?? 2_000;
  const selfPid = options.selfPid ?? process.pid;
  let alive = await jobProcesses(marker, selfPid);
  if (alive.length === 0) return;
  for (const info of alive) {
    try {
      if (await isSameProcess(info)) process.kill(info.pid, "SIGKILL");
    } catch {
      // Gone already, or not ours to kill (then it stays in the list and we refuse below).
    }
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    alive = await jobProcesses(marker, selfPid);
    if (alive.length === 0) return;
    if (Date.now() >= deadline) {
      throw new JobProcessAliveError(
        marker,
        alive.map((info) => info.pid),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
