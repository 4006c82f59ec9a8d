import { packageInfo } from "../src/package-info.js";

export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `Usage: kanbot-runner <command>

The kanbot workstation runner: claims jobs from a kanbot app, runs a coding agent in a fresh git
worktree and pushes one branch per task.

Commands:
  register   exchange a one-time registration token for a runner token
  start      run the daemon (--concurrency, --once, --max-jobs)
  status     show this runner's registration and jobs
  doctor     check git, the configured agent CLIs, the app and disk space
  cleanup    remove worktrees left by earlier jobs

Options:
  -h, --help     show this help
  -v, --version  show the version
`;

const COMMANDS = ["register", "start", "status", "doctor", "cleanup"] as const;

/**
 * The runner's command line. The runner itself (protocol client, daemon, workspaces, agent
 * adapters) is built in issue #4; until then every command says so and exits 2.
 */
export async function runnerMain(argv: readonly string[], io: CliStreams): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    io.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    io.stdout.write(`${packageInfo().version}\n`);
    return 0;
  }
  if ((COMMANDS as readonly string[]).includes(command)) {
    io.stderr.write(
      `kanbot-runner ${command}: not available yet in this version — the runner daemon is still being built.\n`,
    );
    return 2;
  }
  io.stderr.write(`kanbot-runner: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}
