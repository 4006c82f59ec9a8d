/**
 * The app's background side, built inside the Probot app function (it needs `app.auth`): the
 * inbox worker that replays recorded deliveries as their installation, and reconciliation at
 * start. The composition root (src/main.ts) starts and stops them.
 */
import { useWriteBudget, type WriteBudgets } from "../github/write-budget.js";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { gitHubPortForInstallation, listInstallations } from "../github/installations.js";
import { createGitHubReadCaches } from "../github/octokit-port.js";
import { createPullRequestPort } from "../github/octokit-pull-request-port.js";
import type { GitHubPort } from "../github/port.js";
import type { PullRequestPort } from "../github/pull-request-port.js";
import { reconcileRepository, type ReconcileReport } from "../tasks/reconcile.js";
import { createWorkspaceResolver } from "../tasks/repo-config.js";
import type { ResolveJobWorkspace } from "../api/describe-job.js";
import type { JobStore } from "../store/index.js";
import { botLoginOnce, installationRepositories } from "./app-identity.js";
import { createInboxWorker, type InboxWorker } from "./inbox-worker.js";
import { createDeliveryProcessor } from "./process-delivery.js";
import { buildTaskContext, type TaskContextSources } from "./task-context.js";
import { createInternalEvents, type InternalEvents } from "./internal-event-recorder.js";

export interface RuntimeOptions {
  store: JobStore;
  /**
   * GitHub's write budget per installation (src/github/write-budget.ts), on every installation
   * Octokit the runtime uses; production passes it unless `KANBOT_GITHUB_THROTTLE=false`.
   */
  writeBudgets?: WriteBudgets;
  /** `KANBOT_DRY_RUN`. Default false. */
  dryRun?: boolean;
  /** The GitHub host (`github.com`, or GHE_HOST). */
  host?: string;
  /** `KANBOT_INBOX_CONCURRENCY`. */
  concurrency?: number;
  /** How often the worker looks for due retries. Default 1000 ms. */
  pollMs?: number;
  /**
   * The store's attempt cap for a delivery (`KANBOT_INBOX_MAX_ATTEMPTS`; pass the value the store
   * was opened with). Handlers learn from it which attempt is the last. Default: the store's.
   */
  deliveryMaxAttempts?: number;
  /** The app replica's name and its inbox hold (src/inbox/inbox-worker.ts); default `kanbot`, 30 s. */
  holder?: string;
  holdMs?: number;
  now?: () => Date;
  /** The port of one installation; default: the Octokit port on `app.auth(id)`. */
  portFor?: (installationId: number, log: Logger) => Promise<GitHubPort>;
  /** The pull-request port of one installation; default: the Octokit one on `app.auth(id)`. */
  pullRequestPortFor?: (installationId: number, log: Logger) => Promise<PullRequestPort>;
}

export interface KanbotRuntime {
  worker: InboxWorker;
  /** Re-creates tasks GitHub shows (state labels) but the store does not know, everywhere. */
  reconcile(): Promise<ReconcileReport[]>;
  /**
   * The runner API's hooks (claimed, finished, lost): each records an internal delivery in the
   * inbox, worked like a webhook (durable, retried, in order per issue). Also `recheckGates`:
   * queues a gate re-evaluation for every PR whose no-checks wait has ended.
   */
  internal: InternalEvents;
  /**
   * The runner API's workspace resolver: the task's repository's `.github/kanbot.yml`, read as
   * its installation at every claim (required by `createRunnerApi`).
   */
  resolveWorkspace: ResolveJobWorkspace;
}

export function createRuntime(app: Probot, options: RuntimeOptions): KanbotRuntime {
  const log = app.log.child({ name: "inbox" });
  const now = options.now ?? (() => new Date());
  const host = options.host ?? "github.com";
  const dryRun = options.dryRun ?? false;
  // The process's read caches (conditional reads, found boards), keyed by installation.
  const caches = createGitHubReadCaches();
  const portFor =
    options.portFor ??
    ((installationId: number, portLog: Logger) =>
      gitHubPortForInstallation(app, installationId, {
        log: portLog,
        caches,
        ...(options.writeBudgets === undefined ? {} : { writeBudgets: options.writeBudgets }),
      }));
  const pullRequestPortFor =
    options.pullRequestPortFor ??
    (async (installationId: number, portLog: Logger) => {
      const octokit = await app.auth(installationId);
      if (options.writeBudgets !== undefined) {
        useWriteBudget(octokit, options.writeBudgets.of(installationId), portLog);
      }
      return createPullRequestPort(octokit, { log: portLog });
    });
  const sources: TaskContextSources = {
    store: options.store,
    now,
    dryRun,
    host,
    portFor,
    pullRequestPortFor,
  };
  const botLogin = botLoginOnce(app);
  const worker = createInboxWorker({
    store: options.store,
    log,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.holder === undefined ? {} : { holder: options.holder }),
    ...(options.holdMs === undefined ? {} : { holdMs: options.holdMs }),
    process: createDeliveryProcessor({
      ...sources,
      log,
      botLogin,
      ...(options.deliveryMaxAttempts === undefined
        ? {}
        : { deliveryMaxAttempts: options.deliveryMaxAttempts }),
    }),
  });
  const internal = createInternalEvents({
    store: options.store,
    log: app.log.child({ name: "internal-events" }),
    now,
    wake: () => worker.wake(),
  });

  async function reconcile(): Promise<ReconcileReport[]> {
    const reports: ReconcileReport[] = [];
    const reconcileLog = app.log.child({ name: "reconcile" });
    const installations = await listInstallations(await app.auth());
    const login = await botLogin();
    const ensuredLabels = new Set<string>();
    for (const installation of installations) {
      if (installation.suspended) continue;
      const ctx = await buildTaskContext(sources, {
        installationId: installation.id,
        log: reconcileLog,
        botLogin: login,
        ensuredLabels,
      });
      for (const repo of await installationRepositories(app, installation.id)) {
        try {
          reports.push(
            await reconcileRepository(ctx, repo, {
              labelerOf: (issue, label) => ctx.github.lastLabeler(issue, label),
            }),
          );
        } catch (error) {
          reconcileLog.error(
            { err: error, repo },
            "repository not reconciled; it is tried again at the next start",
          );
        }
      }
    }
    const recreated = reports.reduce((sum, report) => sum + report.recreated.length, 0);
    reconcileLog.info({ repositories: reports.length, recreated }, "reconciliation finished");
    return reports;
  }

  const resolveWorkspace = createWorkspaceResolver({
    store: options.store,
    portFor,
    log: app.log.child({ name: "workspace-config" }),
  });

  return { worker, reconcile, internal, resolveWorkspace };
}
