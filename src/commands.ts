import { runnersCommand } from "./admin/runners.js";
import { formatSettingsProblems, parseSettings, publicUrl } from "./config/settings.js";
import { startApp, type CliStreams } from "./main.js";
import { packageInfo } from "./package-info.js";
import { formatPlan, loadDispatchPlan } from "./tasks/plan.js";
import { DEFAULT_DATABASE_URL, openStore } from "./store/index.js";

const USAGE = `Usage: kanbot <command>

The kanbot GitHub App: turns labeled issues into a work queue for coding agents.

Commands:
  start      run the app server (webhooks, runner API); with no GitHub App
             credentials, run Probot's setup flow to register the app from app.yml
  runners add <name> | list | remove <name|id>
             register runners (prints a one-time token), list them, revoke one
  plan --repo owner/name
             print what would be dispatched next and why each other task is
             not (reads the store in DATABASE_URL; no GitHub needed)

Options:
  -h, --help     show this help
  -v, --version  show the version

Settings come from the environment (and .env); see docs/configuration.md.
`;

/** What a shutdown may take beyond the inbox's grace (closing the server and the store). */
const SHUTDOWN_MARGIN_MS = 1_500;

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
  if (command === "plan") return planCommand(argv.slice(1), env, io);
  if (command === "runners") return runnersAdmin(argv.slice(1), env, io);
  if (command !== "start") {
    io.stderr.write(
      command === undefined ? USAGE : `kanbot: unknown command "${command}"\n\n${USAGE}`,
    );
    return 2;
  }
  const started = await startApp(env, io);
  if ("exitCode" in started) return started.exitCode;
  // SIGTERM/SIGINT: stop taking work, give deliveries in progress the grace, release the rest,
  // exit. The deadline covers a stop that hangs anyway (a slow store); a second signal exits at
  // once.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      io.stderr.write(`kanbot: ${signal} again; exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    io.stderr.write(
      `kanbot: ${signal}; stopping (work in progress gets ${started.shutdownGraceMs / 1000} s)\n`,
    );
    setTimeout(() => {
      io.stderr.write("kanbot: shutdown did not finish in time; exiting\n");
      process.exit(1);
    }, started.shutdownGraceMs + SHUTDOWN_MARGIN_MS).unref();
    void started.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  return 0;
}

/** `kanbot plan --repo owner/name`: the store's view of what runs next, and why not the rest. */
async function planCommand(
  args: readonly string[],
  env: Record<string, string | undefined>,
  io: CliStreams,
): Promise<number> {
  const at = args.indexOf("--repo");
  const repo = at === -1 ? args.find((arg) => arg.startsWith("--repo="))?.slice(7) : args[at + 1];
  if (repo === undefined || !/^[^/\s]+\/[^/\s]+$/.test(repo)) {
    io.stderr.write("kanbot plan: name the repository: kanbot plan --repo owner/name\n");
    return 2;
  }
  const store = await openStore({ url: env.DATABASE_URL ?? DEFAULT_DATABASE_URL });
  try {
    io.stdout.write(formatPlan(await loadDispatchPlan(store, repo, new Date())));
    return 0;
  } finally {
    await store.close();
  }
}

/** `kanbot runners add|list|remove`: runner registration, against the store in DATABASE_URL. */
async function runnersAdmin(
  args: readonly string[],
  env: Record<string, string | undefined>,
  io: CliStreams,
): Promise<number> {
  const parsed = parseSettings(env);
  if (!parsed.ok) {
    io.stderr.write(
      `kanbot runners: fix these settings first:\n${formatSettingsProblems(parsed.problems)}\n`,
    );
    return 1;
  }
  const { settings } = parsed;
  const store = await openStore({ url: settings.DATABASE_URL });
  try {
    return await runnersCommand(args, store, io, {
      registrationTokenTtlMs: settings.KANBOT_REGISTRATION_TOKEN_TTL_SECONDS * 1000,
      publicUrl: publicUrl(settings),
    });
  } finally {
    await store.close();
  }
}
