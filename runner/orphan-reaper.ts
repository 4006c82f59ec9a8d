/**
 * Without a sandbox (`sandbox: none`) nothing ties an agent to the runner: it runs in a process
 * group of its own, so a killed runner (SIGKILL, a crash, the third signal) would leave it running
 * and spending. The reaper is a tiny shell process started with the daemon, reading the ids of the
 * jobs the runner starts on its stdin. Its stdin ends only when the runner is gone (the kernel
 * closes the pipe, whatever killed the runner); it then SIGKILLs every process whose environment
 * carries one of those jobs' marker (`KANBOT_JOB_ID=<job id>.…`, runner/process/env.ts), twice, to
 * catch what was forked in between. Linux only (`/proc`); with the sandbox the kernel does this
 * already (`--die-with-parent`, a PID namespace).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

import { JOB_MARKER_VARIABLE } from "./process/env.js";

const REAPER_SCRIPT = `
ids=""
while IFS= read -r id; do ids="$ids $id"; done
for round in 1 2; do
  for id in $ids; do
    for file in /proc/[0-9]*/environ; do
      if grep -qz "^${JOB_MARKER_VARIABLE}=$id\\." "$file" 2>/dev/null; then
        pid=\${file#/proc/}; kill -KILL "\${pid%/environ}" 2>/dev/null
      fi
    done
  done
done
`;

export interface OrphanReaper {
  /** Records a job whose processes must die with the runner. */
  add(jobId: number | string): void;
  /** Ends the reaper (the runner exits normally: its jobs have ended). */
  close(): void;
}

/** Starts the reaper; a no-op where there is no `/proc`. */
export function startOrphanReaper(): OrphanReaper {
  if (!existsSync("/proc/self/environ")) return { add() {}, close() {} };
  const child: ChildProcess = spawn("/bin/sh", ["-c", REAPER_SCRIPT], {
    stdio: ["pipe", "ignore", "ignore"],
    // Its own group and session: a signal to the runner's group does not reach it.
    detached: true,
    env: { PATH: "/usr/bin:/bin" },
  });
  child.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  child.unref();
  // The pipe must not keep the runner alive either.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    add(jobId) {
      child.stdin?.write(`${String(jobId)}\n`);
    },
    close() {
      child.stdin?.end();
    },
  };
}
