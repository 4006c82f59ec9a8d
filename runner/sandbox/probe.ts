/**
 * Whether the configured sandbox works here, found out once per process by running a trivial
 * command in it with the same isolation a job gets (PID, IPC and UTS namespaces, no capabilities,
 * a read-only system, private /proc, /dev and /tmp, no network when it is off).
 *
 * - `none`: no sandbox, by the config's explicit choice;
 * - `auto` and `bwrap`: bubblewrap when it starts; otherwise `unavailable` with the reason, and
 *   the runner runs no agent. `auto` means "the sandbox this platform has": on Linux that is
 *   bubblewrap. macOS has a generated `sandbox-exec` profile (seatbelt.ts) that has not run on a
 *   Mac yet, so `auto` is unavailable there until it has.
 */
import { execa } from "execa";

import { findExecutable } from "./install.js";
import { bwrapIsolationFlags, bwrapMountArgs, type Mount } from "./plan.js";
import type { SandboxMode } from "./types.js";

/** What the runner's sandbox is, after the probe. */
export type SandboxState =
  | { kind: "bwrap"; bwrap: string; version: string; network: boolean }
  | { kind: "none" }
  | { kind: "unavailable"; mode: Exclude<SandboxMode, "none">; reason: string };

export interface ProbeOptions {
  mode: SandboxMode;
  network: boolean;
  /** PATH to find bwrap on. */
  pathEnv: string;
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** Time limit of each probe command. Default 15 s. */
  timeoutMs?: number;
}

const cache = new Map<string, Promise<SandboxState>>();

/** {@link probeSandboxNow}, once per process for the same options. */
export function probeSandbox(options: ProbeOptions): Promise<SandboxState> {
  const key = JSON.stringify([options.mode, options.network, options.pathEnv, options.platform]);
  let probe = cache.get(key);
  if (probe === undefined) {
    probe = probeSandboxNow(options);
    cache.set(key, probe);
  }
  return probe;
}

/** Finds out whether the sandbox `options.mode` asks for starts here. */
export async function probeSandboxNow(options: ProbeOptions): Promise<SandboxState> {
  if (options.mode === "none") return { kind: "none" };
  const mode = options.mode;
  const platform = options.platform ?? process.platform;
  if (platform !== "linux") {
    return {
      kind: "unavailable",
      mode,
      reason:
        platform === "darwin"
          ? "bubblewrap runs on Linux only, and kanbot's sandbox-exec profile for macOS has not been run on a Mac yet"
          : `bubblewrap runs on Linux only (this is ${platform})`,
    };
  }
  const bwrap = await findExecutable("bwrap", options.pathEnv);
  if (bwrap === undefined) {
    return { kind: "unavailable", mode, reason: "bwrap was not found on PATH" };
  }
  const timeout = options.timeoutMs ?? 15_000;
  const run = (args: string[]) =>
    execa(bwrap, args, {
      env: { PATH: options.pathEnv, LANG: "C" },
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      timeout,
    });
  const versionRun = await run(["--version"]);
  const version = String(versionRun.stdout)
    .trim()
    .replace(/^bubblewrap\s+/, "");
  const trial = await run([
    ...bwrapIsolationFlags(options.network),
    ...bwrapMountArgs(PROBE_MOUNTS),
    "--chdir",
    "/",
    "--",
    "/bin/sh",
    "-c",
    "exit 0",
  ]);
  if (trial.exitCode !== 0) {
    const said = String(trial.stderr).trim().split("\n").slice(-3).join(" ");
    return {
      kind: "unavailable",
      mode,
      reason: `${bwrap} failed to start a sandbox (${said || `exit code ${trial.exitCode ?? "none"}`})${hintFor(said)}`,
    };
  }
  return { kind: "bwrap", bwrap, version: version || "unknown version", network: options.network };
}

/** The probe's view: the shape of a job's, without the job. */
const PROBE_MOUNTS: readonly Mount[] = [
  { kind: "bind", source: "/", dest: "/", writable: false, optional: false },
  { kind: "dev", dest: "/dev" },
  { kind: "proc", dest: "/proc" },
  { kind: "hide", dest: "/run" },
  { kind: "tmpfs", dest: "/tmp" },
];

function hintFor(stderr: string): string {
  if (/uid map|user namespace|Operation not permitted|Permission denied/i.test(stderr)) {
    return "; unprivileged user namespaces look disabled or restricted here (Ubuntu 24.04 restricts them with AppArmor)";
  }
  return "";
}
