/**
 * A typed client of the app's runner API (docs/runner-api.md), on `fetch` and the protocol's
 * zod schemas: requests are checked before they leave and answers before they are returned.
 *
 * Errors are few and named, for the daemon's loop:
 * - `RunnerTokenRevokedError` (401 on a runner call): fatal, stop and tell the person to register again;
 * - `LeaseLostError` (409, or 404 on a job call): this job is no longer ours, stop working on it
 *   and do not push; `LeaseExpiredError`, one of them, when retries ran out of lease time;
 * - `ApiConnectionError`: the app could not be reached or did not answer in time (back off, retry);
 * - `ApiError`: every other answer, with its status, code and message.
 * No error message or field ever holds a runner, lease or job token.
 *
 * The job calls that are safe to repeat (heartbeat, token, log, complete: the app stores a log
 * chunk once per number and answers a repeated completion as the first) are retried when the
 * caller passes `retry`: after an app blip (unreachable, no answer in time, 408, 429, 5xx other
 * than the app's own `502 github-error`) they are sent again with jittered backoff for as long as
 * the caller says the job's lease lasts; other answers are not retried.
 */
import {
  API_PATHS,
  ApiErrorBody,
  AppendLogRequest,
  AppendLogResponse,
  ClaimRequest,
  ClaimResponse,
  CompleteJobRequest,
  CompleteJobResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JobTokenRequest,
  JobTokenResponse,
  RegisterRunnerRequest,
  RegisterRunnerResponse,
  type ApiErrorCode,
  type ApiFieldIssue,
  type CompleteJobRequestInput,
  type RegisterRunnerRequestInput,
} from "../src/protocol/index.js";
import type { z } from "zod";

import { backoffDelay, sleep, type BackoffPolicy } from "./backoff.js";

/** The app answered with an error. */
export class ApiError extends Error {
  override readonly name: string = "ApiError";
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The protocol's error code (`bad-request`, `forbidden`…), or `unexpected-response`. */
    readonly code: ApiErrorCode | "unexpected-response",
    message: string,
    /** For 400: one entry per invalid field. */
    readonly issues: readonly ApiFieldIssue[] = [],
  ) {
    super(message);
  }
}

/** 401 on a runner call: the runner token was revoked (or never issued). Stop the runner. */
export class RunnerTokenRevokedError extends ApiError {
  override readonly name = "RunnerTokenRevokedError";
}

/** 401 on registration: the one-time registration token is unknown, used or expired. */
export class RegistrationTokenRejectedError extends ApiError {
  override readonly name = "RegistrationTokenRejectedError";
}

/**
 * 409 (the lease token no longer holds the job: it expired, or the job ended) or 404 (the job is
 * gone) on a job call. Stop the job; do not push.
 */
export class LeaseLostError extends ApiError {
  override readonly name: string = "LeaseLostError";
  constructor(
    readonly jobId: number,
    status: number,
    code: ApiErrorCode,
    message: string,
  ) {
    super(status, code, message);
  }
}

/**
 * A retried job call ran out of lease: the app did not answer (or answered only with blips) until
 * the lease the runner knows of had ended, so the job is someone else's to take now.
 */
export class LeaseExpiredError extends LeaseLostError {
  override readonly name = "LeaseExpiredError";
  constructor(
    jobId: number,
    path: string,
    /** The last failure before the lease ended; none when the lease had ended before the call. */
    readonly lastError: Error | undefined,
  ) {
    super(
      jobId,
      0,
      "stale-lease",
      lastError === undefined
        ? `the lease on job ${jobId} had ended before ${path} could be sent`
        : `the lease on job ${jobId} ended while ${path} was being retried (${lastError.message})`,
    );
  }
}

/** The app could not be reached, or did not answer within the timeout. */
export class ApiConnectionError extends Error {
  override readonly name = "ApiConnectionError";
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RunnerApiClientOptions {
  /** The app's base URL (`KANBOT_PUBLIC_URL`), e.g. `https://kanbot.example.com`. */
  baseUrl: string;
  /** The runner token; not needed for `register`. */
  token?: string;
  /** Timeout of every call but `claim`. Default 30 s. */
  timeoutMs?: number;
  /** Extra time a claim may take beyond its long-poll wait. Default 15 s. */
  claimGraceMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Sent as `User-Agent`. */
  userAgent?: string;
  /** Waits between retries of a job call given `retry`. Default 0.5 s doubling to 15 s, jittered. */
  retryBackoff?: BackoffPolicy;
}

export interface CallOptions {
  /** Aborting stops the call (and its retries); it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call (for each attempt, when retried). */
  timeoutMs?: number;
  /** Job calls only: retry blips while the job's lease lasts (see the file's comment). */
  retry?: LeaseRetry;
}

/** How long a job call may be retried, from the caller that knows the job's lease. */
export interface LeaseRetry {
  /** Time left on the job's lease (ms). At 0 or less the call gives up with `LeaseExpiredError`. */
  remainingMs(): number;
  /** Called right before each attempt is sent (a heartbeat renews the lease from that moment). */
  beforeAttempt?(): void;
  /** Called after each failed attempt that will be retried, with the wait before the next. */
  onRetry?(error: Error, failures: number, waitMs: number): void;
}

/** The default wait between retries of a job call. */
export const DEFAULT_RETRY_BACKOFF: BackoffPolicy = {
  initialMs: 500,
  maxMs: 15_000,
  random: Math.random,
};

/** The longest a claim may wait on the app's side (its schema maximum). */
const DEFAULT_CLAIM_WAIT_MS = 600_000;

export class RunnerApiClient {
  readonly baseUrl: string;
  #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #claimGraceMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #userAgent: string;
  readonly #retryBackoff: BackoffPolicy;

  constructor(options: RunnerApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#claimGraceMs = options.claimGraceMs ?? 15_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#userAgent = options.userAgent ?? "kanbot-runner";
    this.#retryBackoff = options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
  }

  /** Exchanges a one-time registration token; the client uses the new runner token afterwards. */
  async register(
    request: RegisterRunnerRequestInput,
    options: CallOptions = {},
  ): Promise<RegisterRunnerResponse> {
    const answer = await this.#call(
      API_PATHS.register,
      RegisterRunnerRequest,
      request,
      RegisterRunnerResponse,
      { ...options, auth: false },
    );
    if (answer === undefined) throw unexpected(204, "registration");
    this.#token = answer.runnerToken;
    return answer;
  }

  /** Long-polls for a job; `undefined` when none came within the wait (204). */
  async claim(
    request: ClaimRequest = {},
    options: CallOptions = {},
  ): Promise<ClaimResponse | undefined> {
    const waitMs =
      request.waitSeconds !== undefined ? request.waitSeconds * 1000 : DEFAULT_CLAIM_WAIT_MS;
    return this.#call(API_PATHS.claim, ClaimRequest, request, ClaimResponse, {
      timeoutMs: options.timeoutMs ?? waitMs + this.#claimGraceMs,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }

  async heartbeat(
    jobId: number,
    request: HeartbeatRequest,
    options: CallOptions = {},
  ): Promise<HeartbeatResponse> {
    return this.#jobCall(
      jobId,
      API_PATHS.heartbeat(jobId),
      HeartbeatRequest,
      request,
      HeartbeatResponse,
      options,
    );
  }

  /** A fresh installation token for the job's repository. Never log it or write it to disk. */
  async jobToken(
    jobId: number,
    request: JobTokenRequest,
    options: CallOptions = {},
  ): Promise<JobTokenResponse> {
    return this.#jobCall(
      jobId,
      API_PATHS.token(jobId),
      JobTokenRequest,
      request,
      JobTokenResponse,
      options,
    );
  }

  async appendLog(
    jobId: number,
    request: AppendLogRequest,
    options: CallOptions = {},
  ): Promise<AppendLogResponse> {
    return this.#jobCall(
      jobId,
      API_PATHS.log(jobId),
      AppendLogRequest,
      request,
      AppendLogResponse,
      options,
    );
  }

  async complete(
    jobId: number,
    request: CompleteJobRequestInput,
    options: CallOptions = {},
  ): Promise<CompleteJobResponse> {
    return this.#jobCall(
      jobId,
      API_PATHS.complete(jobId),
      CompleteJobRequest,
      request,
      CompleteJobResponse,
      options,
    );
  }

  /** A job call: retried while `options.retry` allows; 409 and 404 mean the lease is lost. */
  async #jobCall<Req extends z.ZodType, Res extends z.ZodType>(
    jobId: number,
    path: string,
    requestSchema: Req,
    request: z.input<Req>,
    responseSchema: Res,
    options: CallOptions,
  ): Promise<z.output<Res>> {
    const { retry, signal } = options;
    if (retry === undefined) {
      return this.#jobCallOnce(jobId, path, requestSchema, request, responseSchema, options);
    }
    let lastError: Error | undefined;
    for (let failures = 0; ;) {
      const remainingMs = retry.remainingMs();
      if (remainingMs <= 0) throw new LeaseExpiredError(jobId, path, lastError);
      // No attempt outlives the lease: an answer after it could not be used.
      const timeoutMs = Math.max(
        1,
        Math.ceil(Math.min(options.timeoutMs ?? this.#timeoutMs, remainingMs)),
      );
      try {
        retry.beforeAttempt?.();
        return await this.#jobCallOnce(jobId, path, requestSchema, request, responseSchema, {
          ...options,
          timeoutMs,
        });
      } catch (error) {
        if (!isTransient(error) || isAborted(signal)) throw error;
        failures++;
        lastError = error;
        const left = retry.remainingMs();
        if (left <= 0) throw new LeaseExpiredError(jobId, path, lastError);
        const waitMs = Math.ceil(Math.min(backoffDelay(failures, this.#retryBackoff), left));
        retry.onRetry?.(error, failures, waitMs);
        await sleep(waitMs, signal);
        if (isAborted(signal)) throw signal?.reason ?? error;
      }
    }
  }

  async #jobCallOnce<Req extends z.ZodType, Res extends z.ZodType>(
    jobId: number,
    path: string,
    requestSchema: Req,
    request: z.input<Req>,
    responseSchema: Res,
    options: CallOptions,
  ): Promise<z.output<Res>> {
    try {
      const answer = await this.#call(path, requestSchema, request, responseSchema, options);
      if (answer === undefined) throw unexpected(204, path);
      return answer;
    } catch (error) {
      if (
        error instanceof ApiError &&
        (error.status === 409 || error.status === 404) &&
        !(error instanceof LeaseLostError)
      ) {
        throw new LeaseLostError(jobId, error.status, asCode(error.code), error.message);
      }
      throw error;
    }
  }

  async #call<Req extends z.ZodType, Res extends z.ZodType>(
    path: string,
    requestSchema: Req,
    request: z.input<Req>,
    responseSchema: Res,
    options: CallOptions & { auth?: boolean },
  ): Promise<z.output<Res> | undefined> {
    const checked = requestSchema.safeParse(request);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ApiError(
        0,
        "bad-request",
        `refusing to send an invalid request to ${path}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`.trim(),
      );
    }
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
      "user-agent": this.#userAgent,
    };
    if (options.auth !== false) {
      if (this.#token === undefined)
        throw new RunnerTokenRevokedError(
          401,
          "unauthorized",
          "this runner has no runner token; run kanbot-runner register first",
        );
      headers.authorization = `Bearer ${this.#token}`;
    }
    const url = `${this.baseUrl}${path}`;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(checked.data),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted === true) throw options.signal.reason ?? error;
      const reason = timeout.aborted
        ? `no answer within ${timeoutMs} ms`
        : describeNetworkError(error);
      throw new ApiConnectionError(url, `cannot reach the kanbot app at ${url}: ${reason}`, {
        cause: error,
      });
    }
    if (response.status === 204) return undefined;
    const body = parseJson(text);
    if (!response.ok) throw errorFrom(response.status, body, path, options.auth !== false);
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError(
        response.status,
        "unexpected-response",
        `the app's answer to ${path} does not match the runner API (${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""}); are the app and runner versions compatible?`,
      );
    }
    return parsed.data;
  }
}

/**
 * Slices of the client by caller, so unit tests can pass a fake: the job calls (dispatcher, lease
 * keeper, log shipper), the claim (listener, doctor), and both (the daemon).
 */
export type JobApi = Pick<RunnerApiClient, "heartbeat" | "jobToken" | "appendLog" | "complete">;
export type ClaimApi = Pick<RunnerApiClient, "claim">;
export type DaemonApi = JobApi & ClaimApi;

/**
 * Whether a failed call is an app blip worth sending again: no connection or no answer in time,
 * 408, 429, or a 5xx (a proxy's 502/503 while the app restarts, the app's 500) other than the
 * app's own `502 github-error` (GitHub refused the token: the job fails with that message).
 */
export function isTransient(error: unknown): error is Error {
  if (error instanceof ApiConnectionError) return true;
  if (!(error instanceof ApiError)) return false;
  if (error instanceof LeaseLostError || error instanceof RunnerTokenRevokedError) return false;
  if (error.status === 502 && error.code === "github-error") return false;
  return error.status === 408 || error.status === 429 || error.status >= 500;
}

/** A function, not `signal.aborted`, so that TypeScript does not narrow it across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function errorFrom(status: number, body: unknown, path: string, runnerCall: boolean): ApiError {
  const parsed = ApiErrorBody.safeParse(body);
  const code = parsed.success ? parsed.data.error.code : undefined;
  const message = parsed.success
    ? parsed.data.error.message
    : `the app answered ${path} with HTTP ${status}`;
  const issues = parsed.success ? (parsed.data.error.issues ?? []) : [];
  if (status === 401 && runnerCall)
    return new RunnerTokenRevokedError(status, code ?? "unauthorized", message);
  if (status === 401)
    return new RegistrationTokenRejectedError(
      status,
      code ?? "registration-token-invalid",
      message,
    );
  return new ApiError(status, code ?? "unexpected-response", message, issues);
}

function asCode(code: ApiErrorCode | "unexpected-response"): ApiErrorCode {
  return code === "unexpected-response" ? "stale-lease" : code;
}

function unexpected(status: number, what: string): ApiError {
  return new ApiError(
    status,
    "unexpected-response",
    `the app answered ${what} with HTTP ${status} and no body`,
  );
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error && "code" in cause && typeof cause.code === "string")
    return `${cause.code} (${cause.message})`;
  return error.message;
}
