/** The sandbox every command of a job runs in (docs/security.md#the-sandbox). */
export { SandboxConfigError, SandboxUnavailableError } from "./errors.js";
export { probeSandbox, probeSandboxNow, type ProbeOptions, type SandboxState } from "./probe.js";
export {
  AGENT_STATE_FOLDERS,
  createSandbox,
  removeTree,
  sweepSandboxFolders,
  type JobSandbox,
  type Sandbox,
  type SandboxJob,
  type SandboxOptions,
} from "./sandbox.js";
export {
  seatbeltPolicyFor,
  seatbeltProfile,
  type SeatbeltJobPaths,
  type SeatbeltPolicy,
} from "./seatbelt.js";
export type { CommandLine, CommandSandbox, SandboxMode, WrappedCommand } from "./types.js";
export { sandboxFromConfig, sandboxStateFor, sandboxWarning } from "./from-config.js";
