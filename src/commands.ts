import { startApp, type CliStreams } from "./main.js";
import { packageInfo } from "./package-info.js";

const USAGE = `Usage: kanbot <command>

The kanbot GitHub App: turns labeled issues into a work queue for coding agents.

Commands:
  start      run the app server (webhooks, runner API); with no GitHub App
             credentials, run Probot's setup flow to register the app from app.yml

Options:
  -h, --help     show this help
  -v, --version  show the version

Settings come from the environment (and .env); see docs/configuration.md.
`;

/**
 * `kanbot`'s command line. Returns the exit code; `start` keeps running until SIGINT/SIGTERM.
 */
export async function kanbotMain(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliStreams,
): Promise<number> {
  const [command] = argv;
  if (command === "-h" || command === "--help" || command === "help") {
    io.stdout.write(USAGE);
    return 0;
  }
  if (command === "-v" || command === "--version") {
    io.stdout.write(`${packageInfo().version}\n`);
    return 0;
  }
  if (command !== "start") {
    io.stderr.write(
      command === undefined ? USAGE : `kanbot: unknown command "${command}"\n\n${USAGE}`,
    );
    return 2;
  }
  const started = await startApp(env, io);
  if ("exitCode" in started) return started.exitCode;
  const shutdown = () => {
    void started.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  return 0;
}
