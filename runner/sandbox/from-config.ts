/** The runner's sandbox as its kanbot-runner.yml asks for it. */
import type { Logger } from "pino";

import type { LoadedRunnerConfig } from "../config.js";
import { SandboxUnavailableError } from "./errors.js";
import { probeSandbox, type SandboxState } from "./probe.js";
import { createSandbox, type Sandbox } from "./sandbox.js";

/** The probe's answer for this config (once per process). */
export function sandboxStateFor(
  loaded: LoadedRunnerConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<SandboxState> {
  return probeSandbox({
    mode: loaded.config.sandbox,
    network: loaded.config.sandboxNetwork,
    pathEnv: env.PATH ?? "",
  });
}

/**
 * The sandbox the config asks for; throws {@link SandboxUnavailableError} when it cannot start
 * here (the runner then runs no agent), and a SandboxConfigError for a path it refuses to show.
 */
export async function sandboxFromConfig(
  loaded: LoadedRunnerConfig,
  env: Readonly<Record<string, string | undefined>>,
  log?: Logger,
): Promise<Sandbox> {
  const state = await sandboxStateFor(loaded, env);
  if (state.kind === "unavailable") throw new SandboxUnavailableError(state.reason);
  return createSandbox({
    state,
    workDir: loaded.workDir,
    configFile: loaded.file,
    ...(loaded.tokenFile !== undefined ? { tokenFile: loaded.tokenFile } : {}),
    paths: loaded.sandboxPaths,
    ...(env.HOME !== undefined && env.HOME !== "" ? { home: env.HOME } : {}),
    ...(log !== undefined ? { log } : {}),
  });
}

/** What `start` and `doctor` say on every run when the config turns the sandbox off. */
export function sandboxWarning(configFile: string): string {
  return `sandbox: none (${configFile}): agents and the repository's setup and validation commands run without a sandbox, as the runner's user. They can read this config file with the runner token, the runner's environment (/proc/<pid>/environ), other jobs' worktrees and every file that user can read, and processes they leave behind can outlive their job. Set sandbox: auto (Linux with bubblewrap) to isolate them.`;
}
