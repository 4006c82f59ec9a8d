/**
 * The runner API (DESIGN section 4): six JSON calls under `/api/v1`, mounted on Probot's server
 * with `addHandler`. Runners authenticate with a bearer runner token (stored hashed); every call
 * about a job carries the lease token of its claim, a fencing token: a runner whose lease ended
 * cannot heartbeat, log, get a GitHub token or complete the job (409).
 *
 * Each job call runs the same pipeline:
 * 1. authenticate the runner (401);
 * 2. find the job (404) and check that this runner holds it (403);
 * 3. read and validate the body (413, 415, 400);
 * 4. act through the store, which checks the lease (409) and audits the decision.
 *
 * This file routes, authenticates and answers registration and heartbeats; the long-poll claim
 * is ./claim-long-poll.ts, job tokens ./job-token-call.ts, the log intake ./log-intake.ts,
 * completion and the end of a lease ./job-completion.ts, and the expired-lease sweeper
 * ./lease-sweeper.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import {
  API_PATHS,
  API_PREFIX,
  AppendLogRequest,
  CompleteJobRequest,
  HeartbeatRequest,
  JobTokenRequest,
  RegisterRunnerRequest,
  type HeartbeatResponse,
  type RegisterRunnerResponse,
} from "../protocol/index.js";
import {
  JobAlreadyFinishedError,
  JobNotFoundError,
  RegistrationTokenError,
  StaleLeaseError,
  type ExpiredLeaseSweep,
  type Job,
  type JobStore,
  type Runner,
} from "../store/index.js";
import { packageInfo } from "../package-info.js";
import type { JobTokenBroker } from "../tokens/job-token-broker.js";
import { createClaimLongPoll } from "./claim-long-poll.js";
import type { ResolveJobWorkspace } from "./describe-job.js";
import { ApiHttpError, bearerToken, parseBody, readJsonBody, sendError, sendJson } from "./http.js";
import { createJobCompletion } from "./job-completion.js";
import { issueJobToken } from "./job-token-call.js";
import { createLeaseSweeper } from "./lease-sweeper.js";
import { createLogIntake } from "./log-intake.js";

/** The numbers the API works with (see `runnerApiLimits` for the settings they come from). */
export interface RunnerApiLimits {
  /** A lease's length without a heartbeat (KANBOT_LEASE_SECONDS). */
  leaseMs: number;
  /** How long a claim waits for a job before 204 (KANBOT_CLAIM_TIMEOUT_SECONDS). */
  claimTimeoutMs: number;
  /** Largest request body (KANBOT_API_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Largest log stored per job (KANBOT_JOB_LOG_MAX_BYTES). */
  jobLogMaxBytes: number;
  /** How often expired leases are swept. Default 5 s. */
  sweepIntervalMs?: number;
}

/** Hooks for the rest of the app (update the task, open the PR, block an exhausted task). */
export interface RunnerApiEvents {
  /** A runner claimed a job (called once per claim, after the job was described to it). */
  jobClaimed?(job: Job): void | Promise<void>;
  /**
   * A runner finished a job. Called at each accepted completion, again for a retried one, so it
   * must be idempotent; when it throws, the completion (already saved) is answered 500 and the
   * runner's retry calls it again.
   */
  jobFinished?(job: Job): void | Promise<void>;
  /** The sweep ended expired leases (lost, requeued, exhausted, canceled). */
  leasesExpired?(sweep: ExpiredLeaseSweep): void | Promise<void>;
}

export interface RunnerApiOptions {
  store: JobStore;
  limits: RunnerApiLimits;
  log: Logger;
  jobTokens: JobTokenBroker;
  /** The GitHub web URL clone URLs are built from. Default `https://github.com`. */
  githubWebUrl?: string;
  /**
   * Reads a job's workspace settings from the repository's `.github/kanbot.yml` at every claim.
   * Required: without it every job would run on kanbot's defaults (no setup, no validation, the
   * default forbidden paths), which is how the repository's config once went missing in
   * production. A throw fails the claimed job with the error's message.
   */
  resolveWorkspace: ResolveJobWorkspace;
  events?: RunnerApiEvents;
}

/** A Probot `Handler`: answers runner API paths and returns true; false for anything else. */
export type RunnerApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface RunnerApi {
  /** Mount with `options.addHandler(api.handler)` in the app function. */
  handler: RunnerApiHandler;
  /** Starts the periodic expired-lease sweep (and queue wake-ups, if stopped before). */
  start(): void;
  /** Stops the sweep and answers every waiting claim 204. */
  stop(): Promise<void>;
  /** One sweep now: ends expired leases and revokes their job tokens. */
  sweep(): Promise<ExpiredLeaseSweep>;
  /** Claims waiting for a job right now. */
  readonly waitingClaims: number;
}

const JOB_CALL = /^\/api\/v1\/jobs\/([^/]+)\/(heartbeat|token|log|complete)$/;

type JobCall = "heartbeat" | "token" | "log" | "complete";

export function createRunnerApi(options: RunnerApiOptions): RunnerApi {
  const { store, limits, jobTokens } = options;
  // A JavaScript caller (or a cast) could still leave it out; refuse at once rather than hand
  // out jobs that silently ignore the repository's config.
  if (typeof options.resolveWorkspace !== "function") {
    throw new TypeError(
      "createRunnerApi needs resolveWorkspace: jobs must carry the repository's .github/kanbot.yml, not kanbot's defaults",
    );
  }
  const log = options.log.child({ name: "runner-api" });
  const longPoll = createClaimLongPoll({
    store,
    limits,
    log,
    githubWebUrl: options.githubWebUrl ?? "https://github.com",
    resolveWorkspace: options.resolveWorkspace,
    notifyClaimed,
    notifyFinished,
  });
  const logIntake = createLogIntake({ store, limits, log, jobTokens });
  const completion = createJobCompletion({ store, log, jobTokens, logIntake, recordFinished });
  const sweeper = createLeaseSweeper({
    store,
    log,
    ...(limits.sweepIntervalMs !== undefined ? { intervalMs: limits.sweepIntervalMs } : {}),
    endLease: (jobId) => completion.endLease(jobId),
    leasesExpired: (sweep) => options.events?.leasesExpired?.(sweep),
  });

  // --- routing -----------------------------------------------------------------------------

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? "/", "http://kanbot.invalid").pathname;
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return false;
    try {
      await route(req, res, path);
    } catch (error) {
      if (error instanceof ApiHttpError) {
        sendError(res, error);
      } else {
        log.error({ err: error, path }, "runner API request failed");
        sendError(
          res,
          new ApiHttpError(500, "internal", "the app failed to answer; try again later"),
        );
      }
    }
    return true;
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === API_PATHS.version && req.method === "GET") {
      // No token needed: the runner's doctor compares versions before it has one.
      sendJson(res, 200, { version: packageInfo().version });
      return;
    }
    const call = JOB_CALL.exec(path);
    const known = path === API_PATHS.register || path === API_PATHS.claim || call !== null;
    if (!known) {
      throw new ApiHttpError(
        404,
        "not-found",
        `no runner API call at ${path}; see docs/runner-api.md`,
      );
    }
    if (req.method !== "POST") {
      throw new ApiHttpError(405, "method-not-allowed", `${path} takes POST`, undefined, {
        allow: "POST",
      });
    }
    if (path === API_PATHS.register) return register(req, res);
    const runner = await authenticate(req);
    if (path === API_PATHS.claim) return longPoll.claim(req, res, runner);
    const [, rawId = "", action = "heartbeat"] = call ?? [];
    return jobCall(req, res, runner, parseJobId(rawId), action as JobCall);
  }

  function parseJobId(raw: string): number {
    const id = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new ApiHttpError(
        404,
        "not-found",
        `job ${raw} does not exist; job ids are positive numbers`,
      );
    }
    return id;
  }

  async function authenticate(req: IncomingMessage): Promise<Runner> {
    const token = bearerToken(req);
    const runner = token === undefined ? undefined : await store.authenticateRunner(token);
    if (runner !== undefined) return runner;
    log.warn({ hasToken: token !== undefined }, "runner API call without a valid runner token");
    throw new ApiHttpError(
      401,
      "unauthorized",
      token === undefined
        ? "missing runner token: send Authorization: Bearer <runner token> (kanbot-runner register gets one)"
        : "the runner token is not valid: it was revoked (kanbot runners remove) or never issued; register this runner again with a new token from kanbot runners add",
      undefined,
      { "www-authenticate": 'Bearer realm="kanbot"' },
    );
  }

  // --- POST /api/v1/runners ----------------------------------------------------------------

  async function register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseBody(
      RegisterRunnerRequest,
      await readJsonBody(req, limits.maxBodyBytes),
      "registration",
    );
    try {
      const { runner, token } = await store.registerRunner(body);
      log.info(
        { runnerId: runner.id, name: runner.name, agents: runner.agents },
        "runner registered",
      );
      const answer: RegisterRunnerResponse = {
        runnerId: runner.id,
        runnerToken: token,
        name: runner.name,
        agents: runner.agents,
        labels: runner.labels,
        repos: runner.repos,
      };
      sendJson(res, 201, answer);
    } catch (error) {
      if (!(error instanceof RegistrationTokenError)) throw error;
      await store.audit({
        actor: "kanbot",
        action: "runner.registration-rejected",
        detail: { name: body.name, problem: error.problem },
      });
      log.warn({ name: body.name, problem: error.problem }, "runner registration rejected");
      throw new ApiHttpError(401, "registration-token-invalid", error.message);
    }
  }

  // --- POST /api/v1/jobs/:id/… -------------------------------------------------------------

  async function jobCall(
    req: IncomingMessage,
    res: ServerResponse,
    runner: Runner,
    jobId: number,
    call: JobCall,
  ): Promise<void> {
    const job = await store.getJob(jobId);
    if (job === undefined)
      throw new ApiHttpError(404, "not-found", `job ${jobId} does not exist; check the job id`);
    if (job.runnerId !== runner.id) {
      await store.audit({
        taskId: job.taskId,
        jobId,
        actor: `runner:${runner.id}`,
        action: "job.access-denied",
        detail: { call },
      });
      log.warn({ jobId, runnerId: runner.id, call }, "runner touched a job it does not hold");
      throw new ApiHttpError(
        403,
        "forbidden",
        `job ${jobId} is not leased to this runner; a runner may act only on jobs it claimed`,
      );
    }
    const raw = await readJsonBody(req, limits.maxBodyBytes);
    try {
      switch (call) {
        case "heartbeat":
          return sendJson(
            res,
            200,
            await heartbeat(job, parseBody(HeartbeatRequest, raw, "heartbeat")),
          );
        case "token":
          return sendJson(
            res,
            200,
            await issueJobToken(
              { store, jobTokens },
              job,
              parseBody(JobTokenRequest, raw, "token request"),
            ),
          );
        case "log":
          return sendJson(
            res,
            200,
            await logIntake.append(job, parseBody(AppendLogRequest, raw, "log upload")),
          );
        case "complete":
          return sendJson(
            res,
            200,
            await completion.complete(job, parseBody(CompleteJobRequest, raw, "completion")),
          );
      }
    } catch (error) {
      if (error instanceof StaleLeaseError) {
        await store.audit({
          taskId: job.taskId,
          jobId,
          actor: `runner:${runner.id}`,
          action: "job.stale-lease-rejected",
          detail: { call },
        });
        log.info({ jobId, runnerId: runner.id, call }, "call with a stale lease rejected");
        throw new ApiHttpError(409, "stale-lease", error.message);
      }
      if (error instanceof JobAlreadyFinishedError) {
        throw new ApiHttpError(409, "already-finished", error.message);
      }
      if (error instanceof JobNotFoundError)
        throw new ApiHttpError(404, "not-found", error.message);
      throw error;
    }
  }

  async function heartbeat(job: Job, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    const result = await store.heartbeat(job.id, body.leaseToken, {
      leaseMs: limits.leaseMs,
      ...(body.phase !== undefined ? { phase: body.phase } : {}),
    });
    return { leaseExpiresAt: result.leaseExpiresAt.toISOString(), canceled: result.canceled };
  }

  async function notifyClaimed(job: Job): Promise<void> {
    try {
      await options.events?.jobClaimed?.(job);
    } catch (error) {
      log.error({ err: error, jobId: job.id }, "jobClaimed hook failed");
    }
  }

  /** `jobFinished` for a runner's completion: a failure is answered 500, for a retry. */
  async function recordFinished(job: Job): Promise<void> {
    try {
      await options.events?.jobFinished?.(job);
    } catch (error) {
      log.error({ err: error, jobId: job.id }, "jobFinished hook failed; the runner will retry");
      throw new ApiHttpError(
        500,
        "internal",
        `job ${job.id} was saved as ${job.status} but its event could not be recorded; send the same completion again`,
      );
    }
  }

  async function notifyFinished(job: Job): Promise<void> {
    try {
      await options.events?.jobFinished?.(job);
    } catch (error) {
      log.error({ err: error, jobId: job.id }, "jobFinished hook failed");
    }
  }

  // --- lifecycle ---------------------------------------------------------------------------

  function start(): void {
    longPoll.start();
    if (!sweeper.start()) return;
    log.info(
      {
        sweepIntervalMs: sweeper.intervalMs,
        leaseMs: limits.leaseMs,
        claimTimeoutMs: limits.claimTimeoutMs,
      },
      "runner API started",
    );
  }

  async function stop(): Promise<void> {
    const sweeperStopped = sweeper.stop();
    longPoll.stop();
    await sweeperStopped;
  }

  return {
    handler,
    start,
    stop,
    sweep: () => sweeper.sweep(),
    get waitingClaims() {
      return longPoll.waiting;
    },
  };
}
