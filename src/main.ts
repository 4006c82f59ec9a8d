import { WriteBudgets } from "./github/write-budget.js";
import { hostname } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pino, type Logger } from "pino";
import { Probot, ProbotOctokit, Server, run as runProbot } from "probot";
import {
  formatSettingsProblems,
  parseSettings,
  type Settings,
  type SettingsProblem,
} from "./config/settings.js";
import { RUNNER_API_LOG_REDACT_PATHS, type RunnerApi } from "./api/index.js";
import { redactingSink } from "./domain/redaction.js";
import kanbotApp from "./index.js";
import type { KanbotRuntime } from "./inbox/kanbot-runtime.js";
import { createRedeliverySweeper, webhookDeliveriesOn } from "./inbox/redelivery.js";
import { withWebhookIntake } from "./inbox/webhook-intake.js";
import { packageInfo } from "./package-info.js";
import { openStore, type JobStore } from "./store/index.js";

/** How often PRs waiting for checks are looked at again (the no-checks wait). */
const GATE_RECHECK_INTERVAL_MS = 60_000;
/** How often failed webhook deliveries are looked for and redelivered (src/inbox/redelivery.ts). */
const REDELIVERY_INTERVAL_MS = 5 * 60_000;
export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface RunningApp {
  server: Server;
  store: JobStore;
  runtime: KanbotRuntime;
  runnerApi: RunnerApi;
  /** Stops the runner API, the HTTP server and the inbox worker (deliveries in progress get
   * `shutdownGraceMs`, then are released), then closes the store. */
  stop(): Promise<void>;
  /** KANBOT_SHUTDOWN_GRACE_SECONDS, in milliseconds. */
  shutdownGraceMs: number;
}

/** The private key from PRIVATE_KEY (PEM, `\n`-escaped PEM or base64 PEM) or PRIVATE_KEY_PATH. */
function readPrivateKey(settings: Settings): string {
  if (settings.PRIVATE_KEY_PATH !== undefined) {
    return readFileSync(settings.PRIVATE_KEY_PATH, "utf8");
  }
  const raw = settings.PRIVATE_KEY ?? "";
  if (raw.includes("-----BEGIN")) return raw.replace(/\\n/g, "\n");
  return Buffer.from(raw, "base64").toString("utf8");
}

function baseUrl(settings: Settings): string {
  return settings.GHE_HOST
    ? `${settings.GHE_PROTOCOL}://${settings.GHE_HOST}/api/v3`
    : "https://api.github.com";
}

type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;

/**
 * KANBOT_GITHUB_THROTTLE=false: Probot's Octokit without the throttling plugin's pacing (a
 * GitHub Enterprise Server with rate limiting off). Probot merges its own throttle options over
 * plain defaults, so `enabled: false` is set last, on the options Probot built.
 */
const UnthrottledOctokit = ProbotOctokit.defaults((options: OctokitOptions) => ({
  ...options,
  throttle: { ...options.throttle, enabled: false },
}));

function createLogger(settings: Settings): Logger {
  return pino(
    {
      name: "kanbot",
      level: settings.LOG_LEVEL,
      messageKey: settings.LOG_MESSAGE_KEY,
      // Probot's request logger writes request headers: runners' bearer tokens must not reach logs.
      redact: [...RUNNER_API_LOG_REDACT_PATHS],
      ...(settings.LOG_LEVEL_IN_STRING
        ? { formatters: { level: (label: string) => ({ level: label }) } }
        : {}),
    },
    // Every line also passes the redaction policy: token shapes in any encoding, whatever field
    // or message they hide in (an error's text, a URL, a header the paths above do not name).
    redactingSink(pino.destination(1)),
  );
}

function warnLines(problems: readonly SettingsProblem[]): string {
  return problems.length === 0 ? "" : `${formatSettingsProblems(problems)}\n`;
}

/**
 * The composition root of the app server (`kanbot start`):
 * 1. validate the settings (exit 1 with one line per bad setting);
 * 2. no GitHub App credentials at all -> Probot's setup flow from app.yml, as `probot run` does;
 * 3. open the job store (applying migrations);
 * 4. start Probot's server with the kanbot app function;
 * 5. start the inbox worker and reconcile GitHub's state labels with the store (in the
 *    background: a failure is logged and the app keeps serving; KANBOT_RECONCILE_ON_START=false
 *    skips reconciliation).
 */
export async function startApp(
  env: Record<string, string | undefined>,
  io: CliStreams,
): Promise<RunningApp | { exitCode: number }> {
  // 1. Settings.
  const parsed = parseSettings(env);
  if (!parsed.ok) {
    io.stderr.write(
      `kanbot: cannot start, ${parsed.problems.length} setting(s) need fixing:\n${formatSettingsProblems(parsed.problems)}\n`,
    );
    return { exitCode: 1 };
  }
  const { settings } = parsed;
  io.stderr.write(warnLines(parsed.warnings));

  // 2. Setup flow.
  if (parsed.mode === "setup") {
    await startSetupFlow(settings, io);
    return { exitCode: 0 };
  }

  let privateKey: string;
  try {
    privateKey = readPrivateKey(settings);
  } catch (error) {
    io.stderr.write(
      `kanbot: cannot start: PRIVATE_KEY_PATH: cannot read ${settings.PRIVATE_KEY_PATH} (${(error as NodeJS.ErrnoException).code ?? String(error)}); point it at the App's .pem file\n`,
    );
    return { exitCode: 1 };
  }

  // 3. Store.
  const log = createLogger(settings);
  const store = await openStore({
    url: settings.DATABASE_URL,
    log: log.child({ name: "store" }),
    policy: {
      deliveryMaxAttempts: settings.KANBOT_INBOX_MAX_ATTEMPTS,
      deliveryBackoffBaseMs: settings.KANBOT_INBOX_RETRY_BASE_MS,
      deliveryBackoffMaxMs: settings.KANBOT_INBOX_RETRY_MAX_MS,
    },
  });

  // 4. Server.
  const server = new Server({
    host: settings.HOST,
    port: settings.PORT,
    webhookPath: settings.WEBHOOK_PATH,
    ...(settings.WEBHOOK_PROXY_URL ? { webhookProxy: settings.WEBHOOK_PROXY_URL } : {}),
    log,
    // The webhook intake (size cap, signature before parsing, JSON objects only) sits in front
    // of Probot's own webhook middleware.
    Probot: withWebhookIntake(
      Probot.defaults({
        appId: settings.APP_ID,
        privateKey,
        secret: settings.WEBHOOK_SECRET,
        baseUrl: baseUrl(settings),
        log,
        // kanbot paces writes with its own budget per installation (src/github/write-budget.ts).
        Octokit: UnthrottledOctokit,
      }),
    ),
  });
  let runtime: KanbotRuntime | undefined;
  let runnerApi: RunnerApi | undefined;
  await server.load(
    kanbotApp({
      store,
      dryRun: settings.KANBOT_DRY_RUN,
      host: settings.GHE_HOST ?? "github.com",
      concurrency: settings.KANBOT_INBOX_CONCURRENCY,
      holder: settings.KANBOT_REPLICA_ID ?? `${hostname()}:${settings.PORT}`,
      holdMs: settings.KANBOT_INBOX_HOLD_SECONDS * 1000,
      ...(settings.KANBOT_GITHUB_THROTTLE ? { writeBudgets: new WriteBudgets() } : {}),
      deliveryMaxAttempts: settings.KANBOT_INBOX_MAX_ATTEMPTS,
      onRuntime: (created) => (runtime = created),
      runnerApi: { settings, privateKey, onRunnerApi: (created) => (runnerApi = created) },
    }),
  );
  if (runtime === undefined || runnerApi === undefined) {
    throw new Error("the kanbot app function did not build its runtime and runner API");
  }
  const started = runtime;
  const api = runnerApi;
  await server.start();

  // 5. Inbox worker and reconciliation.
  started.worker.start();
  api.start();
  // The gate's no-checks wait: once a minute, PRs whose wait ended are decided again.
  // Tasks whose owed GitHub effects made no progress for a minute are resumed the same way.
  const gateTimer = setInterval(() => {
    started.internal.recheckGates().catch((error: unknown) => {
      log.error({ err: error }, "gate re-evaluation sweep failed; it runs again in a minute");
    });
    started.internal.resumeOutboxes().catch((error: unknown) => {
      log.error({ err: error }, "outbox resume sweep failed; it runs again in a minute");
    });
    // Questions nobody answered in time (`questions.answerTimeoutHours`) block their tasks.
    started.internal.expireQuestions().catch((error: unknown) => {
      log.error({ err: error }, "question timeout sweep failed; it runs again in a minute");
    });
  }, GATE_RECHECK_INTERVAL_MS);
  gateTimer.unref();
  // Webhooks GitHub could not deliver while kanbot was down: asked again as the app, at start
  // (before reconciliation) and every five minutes; off with KANBOT_RECONCILE_ON_START=false.
  const appGitHub = new Probot({
    appId: settings.APP_ID,
    privateKey,
    baseUrl: baseUrl(settings),
    log,
    // kanbot paces writes with its own budget per installation (src/github/write-budget.ts).
    Octokit: UnthrottledOctokit,
  });
  const redelivery = createRedeliverySweeper({
    port: async () => webhookDeliveriesOn(await appGitHub.auth()),
    inInbox: async (guid) => (await store.getDelivery(guid)) !== undefined,
    now: () => new Date(),
    log: log.child({ name: "redelivery" }),
  });
  if (settings.KANBOT_RECONCILE_ON_START) {
    redelivery.start(REDELIVERY_INTERVAL_MS);
    void redelivery
      .runOnce()
      .then(() => started.reconcile())
      .catch((error: unknown) => {
        log.error(
          { err: error },
          "reconciliation at start failed; it runs again at the next start",
        );
      });
  } else {
    log.info("reconciliation at start turned off (KANBOT_RECONCILE_ON_START=false)");
  }
  log.info(
    { host: settings.HOST, port: server.port, webhookPath: settings.WEBHOOK_PATH },
    "kanbot is listening: webhooks are recorded in the inbox and worked by the inbox worker; runners connect to /api/v1",
  );
  return {
    server,
    store,
    runtime: started,
    runnerApi: api,
    shutdownGraceMs: settings.KANBOT_SHUTDOWN_GRACE_SECONDS * 1000,
    async stop() {
      // Waiting long-polls are answered first, or they would hold the server open. Deliveries
      // in progress get the grace; what is unfinished then is released for the next start or
      // another replica (their GitHub calls are abandoned with the process).
      clearInterval(gateTimer);
      redelivery.stop();
      await api.stop();
      await server.stop();
      await started.worker.stop({ graceMs: settings.KANBOT_SHUTDOWN_GRACE_SECONDS * 1000 });
      await store.close();
    },
  };
}

/**
 * Probot's own setup flow: a local page that registers the GitHub App from app.yml and writes
 * its credentials to .env. Probot would fetch smee-client at run time to create a webhook proxy;
 * kanbot downloads nothing at run time, so that step is off unless WEBHOOK_PROXY_URL is set.
 */
async function startSetupFlow(settings: Settings, io: CliStreams): Promise<void> {
  if (!existsSync(path.join(process.cwd(), "app.yml"))) process.chdir(packageInfo().root);
  process.env.NO_SMEE_SETUP ??= "true";
  io.stdout.write(
    [
      "kanbot: no GitHub App credentials (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH) are set.",
      `Starting Probot's setup flow: open http://${settings.HOST}:${settings.PORT} to register the`,
      "GitHub App from app.yml; its credentials are then written to .env in " + process.cwd() + ".",
      "Restart `kanbot start` afterwards. To receive webhooks on this machine, set",
      "WEBHOOK_PROXY_URL to a smee.io channel first.",
      "",
    ].join("\n"),
  );
  await runProbot(() => undefined, {
    env: {
      ...process.env,
      HOST: settings.HOST,
      PORT: String(settings.PORT),
    },
  });
}
