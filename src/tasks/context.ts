/**
 * What every step of the task loop needs: the store, one installation's GitHub port, a logger, the clock
 * and kanbot's own identity. Built once per inbox delivery by the inbox worker (src/inbox/).
 */
import type { Logger } from "pino";
import type { GitHubPort } from "../github/port.js";
import type { PullRequestPort } from "../github/pull-request-port.js";
import type { JobStore } from "../store/index.js";

export interface TaskContext {
  store: JobStore;
  /** The installation's GitHub port; in dry-run mode its writes are logged, not made. */
  github: GitHubPort;
  /** The installation's pull-request port (PRs, check runs, statuses, reviews); dry-run too. */
  pulls: PullRequestPort;
  log: Logger;
  now: () => Date;
  /** kanbot's own bot login, `<app slug>[bot]`: the author of the progress comment. */
  botLogin: string;
  installationId: number;
  /** The GitHub host whose issue URLs count as dependencies (`github.com` or GHE_HOST). */
  host: string;
  /** Process-wide memo of labels already ensured (`owner/repo:label`, lower-cased). */
  ensuredLabels: Set<string>;
  /**
   * The `.github/kanbot.yml` reads of this context (one event), by `owner/repo` lower-cased: the
   * config is read once per event, not once per step (src/tasks/repo-config.ts). Without it,
   * every step reads the file.
   */
  configReads?: Map<string, Promise<string | undefined>>;
}

/** The actor recorded for kanbot's own decisions. */
export const KANBOT_ACTOR = "kanbot";
