/**
 * The task context (src/tasks/context.ts) of one installation, built in one place for the inbox
 * worker (./process-delivery.ts, per delivery) and reconciliation at start
 * (./kanbot-runtime.ts, per installation): the installation's GitHub ports (wrapped to log
 * instead of write under `KANBOT_DRY_RUN`), the store, the clock and kanbot's own login.
 */
import type { Logger } from "pino";
import { dryRunPort } from "../github/dry-run-port.js";
import { dryRunPullRequestPort } from "../github/dry-run-pull-request-port.js";
import type { GitHubPort } from "../github/port.js";
import type { PullRequestPort } from "../github/pull-request-port.js";
import type { JobStore } from "../store/index.js";
import type { TaskContext } from "../tasks/context.js";

/** Where a task context's parts come from; the same for every installation. */
export interface TaskContextSources {
  store: JobStore;
  now: () => Date;
  /** `KANBOT_DRY_RUN`: GitHub writes are logged instead of made. */
  dryRun: boolean;
  /** The GitHub host for dependency URLs. */
  host: string;
  /** The port of one installation (an installation token, minted and cached by Probot). */
  portFor: (installationId: number, log: Logger) => Promise<GitHubPort>;
  /** The pull-request port of one installation; without it, every PR call fails. */
  pullRequestPortFor?: (installationId: number, log: Logger) => Promise<PullRequestPort>;
}

/** What differs between two task contexts. */
export interface TaskContextFacts {
  installationId: number;
  log: Logger;
  /** kanbot's own login, `<app slug>[bot]`. */
  botLogin: string;
  /** The labels already ensured on their repository, shared by the contexts of one owner. */
  ensuredLabels: Set<string>;
}

export async function buildTaskContext(
  sources: TaskContextSources,
  facts: TaskContextFacts,
): Promise<TaskContext> {
  const { installationId, log } = facts;
  const port = await sources.portFor(installationId, log);
  const pulls =
    sources.pullRequestPortFor === undefined
      ? unavailablePullRequestPort()
      : await sources.pullRequestPortFor(installationId, log);
  return {
    store: sources.store,
    github: sources.dryRun ? dryRunPort(port, log) : port,
    pulls: sources.dryRun ? dryRunPullRequestPort(pulls, log) : pulls,
    log,
    now: sources.now,
    botLogin: facts.botLogin,
    installationId,
    host: sources.host,
    ensuredLabels: facts.ensuredLabels,
    // One context is one delivery (or one reconciliation pass): the config is read once in it.
    configReads: new Map(),
  };
}

/** A pull-request port whose every call fails, for a context built without one. */
function unavailablePullRequestPort(): PullRequestPort {
  return new Proxy({} as PullRequestPort, {
    get: (_target, call) => () =>
      Promise.reject(new Error(`no pull-request port configured: ${String(call)} not called`)),
  });
}
