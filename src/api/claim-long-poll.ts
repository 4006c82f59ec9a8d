/**
 * `POST /api/v1/jobs/claim`: the long-poll. A claim tries the queue, and while it finds nothing
 * it waits in a FIFO line (./queue-signal.ts) for a wake-up from the store (`onJobQueued`), until
 * its wait ends, the runner goes away or the API stops (then 204). A claimed job is described
 * to the runner with its repository's workspace settings; a job that cannot be described is
 * failed, and the next one tried.
 */
import { performance } from "node:perf_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ClaimRequest, type ClaimResponse } from "../protocol/index.js";
import type { Job, JobStore, Runner, RunnerCapabilities } from "../store/index.js";
import { redactText } from "../domain/redaction.js";
import {
  branchForTask,
  describeJob,
  jobHistory,
  sessionToResume,
  type ResolveJobWorkspace,
} from "./describe-job.js";
import { ApiHttpError, parseBody, readJsonBody, sendJson, sendNoContent } from "./http.js";
import { createQueueSignal } from "./queue-signal.js";
import type { RunnerApiLimits } from "./runner-api.js";

export interface ClaimLongPollOptions {
  store: JobStore;
  limits: RunnerApiLimits;
  log: Logger;
  githubWebUrl: string;
  resolveWorkspace: ResolveJobWorkspace;
  /** The `jobClaimed` hook (errors are the hook's to log). */
  notifyClaimed(job: Job): Promise<void>;
  /** The `jobFinished` hook, for a claimed job that could not be described and was failed. */
  notifyFinished(job: Job): Promise<void>;
}

export interface ClaimLongPoll {
  /** Answers one claim: 200 with a job, or 204 when none came within the wait. */
  claim(req: IncomingMessage, res: ServerResponse, runner: Runner): Promise<void>;
  /** Listens for queued jobs again after `stop`. */
  start(): void;
  /** Stops listening and answers every waiting claim 204. */
  stop(): void;
  /** Claims waiting for a job right now. */
  readonly waiting: number;
}

export function createClaimLongPoll(options: ClaimLongPollOptions): ClaimLongPoll {
  const { store, limits, log, githubWebUrl, resolveWorkspace } = options;
  const queue = createQueueSignal();
  let lifecycle = new AbortController();
  let unsubscribe: (() => void) | undefined = store.onJobQueued(() => queue.notify());

  async function claim(req: IncomingMessage, res: ServerResponse, runner: Runner): Promise<void> {
    const body = parseBody(
      ClaimRequest,
      await readJsonBody(req, limits.maxBodyBytes),
      "claim request",
    );
    const capabilities = narrow(runner, body);
    if (body.freeSlots === 0 || lifecycle.signal.aborted) return sendNoContent(res);

    const waitMs = Math.min(limits.claimTimeoutMs, (body.waitSeconds ?? Infinity) * 1000);
    const deadline = performance.now() + waitMs;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    const onStop = () => gone.abort();
    const signal = lifecycle.signal;
    res.once("close", onClose);
    signal.addEventListener("abort", onStop, { once: true });
    // A place in the wake-up line (FIFO): one waiter is woken per queued job and passes the
    // wake-up on when it finds nothing it can take (src/api/queue-signal.ts).
    const place = queue.join(capabilities);
    try {
      while (!gone.signal.aborted) {
        place.trying();
        const answer = await claimOnce(runner, capabilities);
        if (answer === undefined) {
          place.foundNothing();
          await wakeWhenDue();
        } else {
          place.claimed();
          if (res.destroyed) {
            log.warn(
              { jobId: answer.job.id, runnerId: runner.id },
              "runner left before its claim was answered; the lease will expire",
            );
          }
          return sendJson(res, 200, answer);
        }
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        await place.wait(remaining, gone.signal);
      }
      sendNoContent(res);
    } finally {
      place.leave();
      res.off("close", onClose);
      signal.removeEventListener("abort", onStop);
    }
  }

  // A queued job waiting out its backoff wakes no one when its time comes (nothing is queued
  // then): one timer per API wakes a waiting claim at the earliest such time.
  let dueTimer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;

  async function wakeWhenDue(): Promise<void> {
    const inMs = await store.nextJobDueInMs();
    if (inMs === undefined || lifecycle.signal.aborted) return;
    const at = performance.now() + inMs;
    if (dueTimer !== undefined && dueAt <= at) return;
    clearTimeout(dueTimer);
    dueAt = at;
    dueTimer = setTimeout(() => {
      dueTimer = undefined;
      dueAt = Infinity;
      queue.notify();
    }, inMs);
    dueTimer.unref();
  }

  /** One try at the queue; a job whose workspace settings cannot be read is failed, and the next tried. */
  async function claimOnce(
    runner: Runner,
    capabilities: RunnerCapabilities,
  ): Promise<ClaimResponse | undefined> {
    for (;;) {
      const claimed = await store.claimJob(capabilities, limits.leaseMs);
      if (claimed === undefined) return undefined;
      const { job, leaseToken, leaseExpiresAt } = claimed;
      try {
        const task = await store.getTask(job.taskId);
        if (task === undefined) throw new Error(`task ${job.taskId} of the job is missing`);
        const workspace = await resolveWorkspace({ task, job });
        if (task.branch === undefined) {
          // Fixed once: the runner, the PR and the cleanup all use the stored branch from now on.
          const branch = branchForTask(task, workspace);
          await store.updateTask(task.id, { branch }, { actor: "kanbot" });
          task.branch = branch;
        }
        const jobs = await store.listJobs(task.id);
        const resumeSessionId = sessionToResume(job, jobs);
        const description = describeJob(job, task, workspace, {
          githubWebUrl,
          limits: { maxLogBytes: limits.jobLogMaxBytes, maxBodyBytes: limits.maxBodyBytes },
          history: jobHistory(job, jobs),
          ...(resumeSessionId === undefined ? {} : { resumeSessionId }),
        });
        log.info(
          { jobId: job.id, runnerId: runner.id, kind: job.kind, agent: job.agent, repo: job.repo },
          "job claimed",
        );
        await options.notifyClaimed(job);
        return {
          job: description,
          lease: {
            token: leaseToken,
            expiresAt: leaseExpiresAt.toISOString(),
            durationSeconds: limits.leaseMs / 1000,
          },
        };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        log.warn(
          { jobId: job.id, runnerId: runner.id, reason },
          "claimed job could not be described; failing it",
        );
        const failed = await store.completeJob(job.id, leaseToken, {
          status: "failed",
          // The reason may quote the repository's config: it passes the policy like any text.
          error: redactText(`kanbot could not prepare the job: ${reason}`),
        });
        await options.notifyFinished(failed);
      }
    }
  }

  /** The runner's registered capabilities, narrowed by the claim; 400 for anything outside them. */
  function narrow(runner: Runner, body: ClaimRequest): RunnerCapabilities {
    const within = (field: string, asked: readonly string[], offered: readonly string[]) => {
      const outside = asked.filter((value) => !offered.includes(value));
      if (outside.length === 0) return;
      throw new ApiHttpError(
        400,
        "bad-request",
        `invalid claim request: ${field}: ${outside.join(", ")} not registered by this runner (registered: ${offered.join(", ") || "none"}); register the runner again to change what it offers`,
        [{ path: field, message: "not registered by this runner" }],
      );
    };
    if (body.agents !== undefined) within("agents", body.agents, runner.agents);
    if (body.labels !== undefined) within("labels", body.labels, runner.labels);
    if (body.repos !== undefined && runner.repos.length > 0)
      within("repos", body.repos, runner.repos);
    return {
      runnerId: runner.id,
      agents: body.agents ?? runner.agents,
      labels: body.labels ?? runner.labels,
      repos: body.repos !== undefined && body.repos.length > 0 ? body.repos : runner.repos,
    };
  }

  return {
    claim,
    start() {
      if (lifecycle.signal.aborted) lifecycle = new AbortController();
      unsubscribe ??= store.onJobQueued(() => queue.notify());
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      clearTimeout(dueTimer);
      dueTimer = undefined;
      dueAt = Infinity;
      lifecycle.abort();
    },
    get waiting() {
      return queue.waiting;
    },
  };
}
