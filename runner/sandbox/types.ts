/**
 * The shapes the sandbox shares with the process layer: a command line, the same line wrapped to
 * run inside a sandbox, and what run-command asks of a job's sandbox.
 */

/** How the runner isolates what a job runs (`sandbox` in kanbot-runner.yml). */
export type SandboxMode = "auto" | "bwrap" | "none";

/** A command line as run-command starts it (never through a shell). */
export interface CommandLine {
  command: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the command. */
  env: Readonly<Record<string, string>>;
}

/** A command line wrapped to run inside a sandbox. */
export interface WrappedCommand extends CommandLine {
  /**
   * Whether the program started is a supervisor whose death ends everything inside it at once
   * (bwrap with `--die-with-parent` and a PID namespace). Stopping then sends SIGTERM to what runs
   * inside first and SIGKILL to the supervisor only after the grace period, so the agent gets its
   * grace period as it would without a sandbox.
   */
  supervised: boolean;
}

/** What run-command needs from a job's sandbox: a way to wrap each command it starts. */
export interface CommandSandbox {
  wrap(command: CommandLine): Promise<WrappedCommand>;
}
