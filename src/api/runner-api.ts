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
 */
import { performance } from "node:perf_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import {
  API_PATHS,
  API_PREFIX,
  AppendLogRequest,
  ClaimRequest,
  CompleteJobRequest,
  HeartbeatRequest,
  JobTokenRequest,
  RegisterRunnerRequest,
  type AppendLogResponse,
  type ClaimResponse,
  type CompleteJobResponse,
  type HeartbeatResponse,
  type JobTokenResponse,
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
  type JsonValue,
  type Runner,
  type RunnerCapabilities,
} from "../store/index.js";
import { JobTokenError, type JobTokenBroker } from "../tokens/job-token-broker.js";
import { branchForTask, describeJob, type ResolveJobWorkspace } from "./describe-job.js";
import {
  ApiHttpError,
  bearerToken,
  parseBody,
  readJsonBody,
  sendError,
  sendJson,
  sendNoContent,
} from "./http.js";
import { createJobLogRedactor } from "./log-redaction.js";
import { createQueueSignal } from "./queue-signal.js";
import { redactJson, redactText } from "../domain/redaction.js";

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
  /** A runner finished a job (called once per job, not for retried completions). */
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

const DEFAULT_SWEEP_INTERVAL_MS = 5_000;
const JOB_CALL = /^\/api\/v1\/jobs\/([^/]+)\/(heartbeat|token|log|complete)$/;
const TRUNCATION_MARKER = "\n[kanbot: the log reached its size limit; later output was dropped]\n";

type JobCall = "heartbeat" | "token" | "log" | "complete";

interface LogState {
  bytes: number;
  truncated: boolean;
}

export function createRunnerApi(options: RunnerApiOptions): RunnerApi {
  const { store, limits, jobTokens } = options;
  // A JavaScript caller (or a cast) could still leave it out; refuse at once rather than hand
  // out jobs that silently ignore the repository's config.
  if (typeof options.resolveWorkspace !== "function") {
    throw new TypeError(
      "createRunnerApi needs resolveWorkspace: jobs must carry the repository's .github/kanbot.yml, not kanbot's defaults",
    );
  }
  const resolveWorkspace = options.resolveWorkspace;
  const log = options.log.child({ name: "runner-api" });
  const githubWebUrl = options.githubWebUrl ?? "https://github.com";
  const sweepIntervalMs = limits.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  const queue = createQueueSignal();
  const logStates = new Map<number, Promise<LogState>>();
  const logLocks = new Map<number, Promise<unknown>>();
  // The redaction policy over each job's chunks in order (a token split across two is found).
  const logRedactor = createJobLogRedactor((jobId) => jobTokens.liveTokens?.(jobId) ?? []);
  let lifecycle = new AbortController();
  let unsubscribe: (() => void) | undefined = store.onJobQueued(() => queue.notify());
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<ExpiredLeaseSweep> | undefined;

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
    if (path === API_PATHS.claim) return claim(req, res, runner);
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

  // --- POST /api/v1/jobs/claim -------------------------------------------------------------

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
    res.once("close", onClose);
    lifecycle.signal.addEventListener("abort", onStop, { once: true });
    // A place in the wake-up line (FIFO): one waiter is woken per queued job and passes the
    // wake-up on when it finds nothing it can take (src/api/queue-signal.ts).
    const place = queue.join(capabilities);
    try {
      while (!gone.signal.aborted) {
        place.trying();
        const answer = await claimOnce(runner, capabilities);
        if (answer === undefined) {
          place.foundNothing();
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
      lifecycle.signal.removeEventListener("abort", onStop);
    }
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
        const description = describeJob(job, task, workspace, {
          githubWebUrl,
          limits: { maxLogBytes: limits.jobLogMaxBytes, maxBodyBytes: limits.maxBodyBytes },
        });
        log.info(
          { jobId: job.id, runnerId: runner.id, kind: job.kind, agent: job.agent, repo: job.repo },
          "job claimed",
        );
        await notifyClaimed(job);
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
        await notifyFinished(failed);
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
            await jobToken(job, parseBody(JobTokenRequest, raw, "token request")),
          );
        case "log":
          return sendJson(
            res,
            200,
            await appendLog(job, parseBody(AppendLogRequest, raw, "log upload")),
          );
        case "complete":
          return sendJson(
            res,
            200,
            await complete(job, parseBody(CompleteJobRequest, raw, "completion")),
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

  async function jobToken(job: Job, body: JobTokenRequest): Promise<JobTokenResponse> {
    await store.assertLease(job.id, body.leaseToken);
    const task = await store.getTask(job.taskId);
    if (task === undefined)
      throw new ApiHttpError(404, "not-found", `the task of job ${job.id} no longer exists`);
    let issued;
    try {
      issued = await jobTokens.issue(job.id, task.installationId, job.repo);
    } catch (error) {
      if (!(error instanceof JobTokenError)) throw error;
      throw new ApiHttpError(502, "github-error", error.message);
    }
    try {
      // The lease may have ended while GitHub minted the token: then the sweep's revoke ran
      // before this token was known, so revoke it here and refuse it.
      await store.assertLease(job.id, body.leaseToken);
    } catch (error) {
      await jobTokens.revoke(job.id);
      throw error;
    }
    await store.audit({
      taskId: job.taskId,
      jobId: job.id,
      actor: `runner:${job.runnerId ?? "unknown"}`,
      action: "job.token-issued",
      detail: { repo: job.repo, expiresAt: issued.expiresAt.toISOString() },
    });
    return {
      token: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
      repository: job.repo,
      permissions: issued.permissions,
    };
  }

  /** Stores log chunks; `held` marks the redactor's own held-back end, already redacted. */
  async function appendLog(
    job: Job,
    body: AppendLogRequest,
    held = false,
  ): Promise<AppendLogResponse> {
    return withLogLock(job.id, async () => {
      await store.assertLease(job.id, body.leaseToken);
      const state = await logState(job.id);
      const answer: AppendLogResponse = {
        appended: [],
        duplicates: [],
        dropped: [],
        truncated: false,
      };
      for (const chunk of [...body.chunks].sort((a, b) => a.seq - b.seq)) {
        if (state.truncated) {
          answer.dropped.push(chunk.seq);
          continue;
        }
        let text = held
          ? chunk.text
          : logRedactor.chunk(job.id, chunk.seq, jobTokens.redact(job.id, chunk.text));
        let size = Buffer.byteLength(text);
        const room = limits.jobLogMaxBytes - state.bytes;
        const cut = size + logRedactor.held(job.id) > room;
        if (cut) {
          // The last chunk kept: what the redactor holds back is released into it.
          text += logRedactor.finish(job.id)?.text ?? "";
          text = `${Buffer.from(text).subarray(0, Math.max(0, room)).toString("utf8")}${TRUNCATION_MARKER}`;
          size = Buffer.byteLength(text);
        }
        const { appended } = await store.appendLog(job.id, body.leaseToken, chunk.seq, text);
        if (!appended) {
          answer.duplicates.push(chunk.seq);
          continue;
        }
        answer.appended.push(chunk.seq);
        state.bytes += size;
        if (cut) {
          state.truncated = true;
          log.warn(
            { jobId: job.id, maxBytes: limits.jobLogMaxBytes },
            "job log reached its size limit",
          );
        }
      }
      answer.truncated = state.truncated;
      return answer;
    });
  }

  function logState(jobId: number): Promise<LogState> {
    let state = logStates.get(jobId);
    if (state === undefined) {
      state = store.readLog(jobId).then((chunks) => ({
        bytes: chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk.text), 0),
        truncated: chunks.some((chunk) => chunk.text.endsWith(TRUNCATION_MARKER)),
      }));
      state.catch(() => logStates.delete(jobId));
      logStates.set(jobId, state);
    }
    return state;
  }

  async function withLogLock<T>(jobId: number, work: () => Promise<T>): Promise<T> {
    const previous = logLocks.get(jobId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    logLocks.set(jobId, settled);
    try {
      return await next;
    } finally {
      if (logLocks.get(jobId) === settled) logLocks.delete(jobId);
    }
  }

  async function complete(job: Job, body: CompleteJobRequest): Promise<CompleteJobResponse> {
    // The end of the log the redactor held back is stored before the lease ends.
    const rest = logRedactor.finish(job.id);
    if (rest !== undefined) {
      await appendLog(job, { leaseToken: body.leaseToken, chunks: [rest] }, true);
    }
    // Every text of the result (summary, error, validation output) passes the redaction policy.
    const outcome = redactJson(body.outcome, jobTokens.liveTokens?.(job.id) ?? []);
    const { status, ...facts } = outcome;
    const error = outcome.status === "failed" ? outcome.error : undefined;
    // The error text has its own column; everything else is the result (undefined fields dropped).
    const result: JsonValue = JSON.parse(JSON.stringify({ ...facts, error: undefined }));
    const finished = await store.completeJob(job.id, body.leaseToken, {
      status,
      result,
      ...(error !== undefined ? { error } : {}),
    });
    const firstTime = job.status === "leased";
    await endLease(finished.id);
    if (firstTime) {
      log.info({ jobId: job.id, runnerId: job.runnerId, status }, "job finished");
      await notifyFinished(finished);
    }
    return {
      jobId: finished.id,
      status,
      finishedAt: (finished.finishedAt ?? new Date(0)).toISOString(),
    };
  }

  /** The lease is over: its GitHub tokens are revoked and its log bookkeeping dropped. */
  async function endLease(jobId: number): Promise<void> {
    const revoked = await jobTokens.revoke(jobId);
    logStates.delete(jobId);
    logRedactor.forget(jobId);
    if (revoked > 0) {
      const job = await store.getJob(jobId);
      await store.audit({
        ...(job !== undefined ? { taskId: job.taskId } : {}),
        jobId,
        actor: "kanbot",
        action: "job.tokens-revoked",
        detail: { count: revoked },
      });
    }
  }

  async function notifyClaimed(job: Job): Promise<void> {
    try {
      await options.events?.jobClaimed?.(job);
    } catch (error) {
      log.error({ err: error, jobId: job.id }, "jobClaimed hook failed");
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

  async function sweepOnce(): Promise<ExpiredLeaseSweep> {
    const result = await store.requeueExpiredLeases();
    const ended = [...result.lost, ...result.canceled];
    for (const job of ended) await endLease(job.id);
    if (ended.length > 0) {
      log.info(
        {
          lost: result.lost.map((job) => job.id),
          requeued: result.requeued.map((job) => job.id),
          exhausted: result.exhausted.map((job) => job.id),
          canceled: result.canceled.map((job) => job.id),
        },
        "expired leases ended",
      );
      try {
        await options.events?.leasesExpired?.(result);
      } catch (error) {
        log.error({ err: error }, "leasesExpired hook failed");
      }
    }
    return result;
  }

  function sweep(): Promise<ExpiredLeaseSweep> {
    // One sweep at a time: a timer tick during a manual sweep joins it.
    sweeping ??= sweepOnce().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  }

  function start(): void {
    if (lifecycle.signal.aborted) lifecycle = new AbortController();
    unsubscribe ??= store.onJobQueued(() => queue.notify());
    if (sweepTimer !== undefined) return;
    sweepTimer = setInterval(() => {
      sweep().catch((error: unknown) => log.error({ err: error }, "expired-lease sweep failed"));
    }, sweepIntervalMs);
    sweepTimer.unref();
    log.info(
      { sweepIntervalMs, leaseMs: limits.leaseMs, claimTimeoutMs: limits.claimTimeoutMs },
      "runner API started",
    );
  }

  async function stop(): Promise<void> {
    if (sweepTimer !== undefined) clearInterval(sweepTimer);
    sweepTimer = undefined;
    unsubscribe?.();
    unsubscribe = undefined;
    lifecycle.abort();
    await sweeping?.catch(() => undefined);
  }

  return {
    handler,
    start,
    stop,
    sweep,
    get waitingClaims() {
      return queue.waiting;
    },
  };
}
