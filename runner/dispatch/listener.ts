/**
 * The claim loop, after actions/runner's MessageListener: long-poll the app for a job whenever a
 * slot is free, hand what comes to the dispatcher, and on errors back off (jittered, exponential)
 * with ONE log line per error streak and one when the app answers again. A revoked runner token
 * (401) or a claim the app refuses as invalid (400: agents not registered) ends the loop with
 * the error: retrying cannot fix either.
 */
import type { Logger } from "pino";

import { ApiError, RunnerTokenRevokedError, type ClaimApi } from "../client.js";
import type { ClaimRequest } from "../../src/protocol/index.js";
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffPolicy } from "../backoff.js";
import { unpausedAgents } from "./agent-pauses.js";
import type { Dispatcher } from "./dispatcher.js";

export interface ListenerOptions {
  api: ClaimApi;
  dispatcher: Pick<Dispatcher, "freeSlots" | "waitForSlot" | "dispatch"> &
    Partial<Pick<Dispatcher, "pausedAgents">>;
  /** What the claims ask for (the agents this runner's config offers). */
  claim?: Omit<ClaimRequest, "freeSlots" | "waitSeconds">;
  /** Long-poll wait per claim. Default 30 s. */
  waitSeconds?: number;
  /** Stop after claiming this many jobs (`--once` is 1). */
  maxJobs?: number;
  /** Aborting stops claiming (an open long-poll is dropped). */
  signal: AbortSignal;
  backoff?: BackoffPolicy;
  /** Waits between retries (tests pass one that does not wait). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Logger;
}

export interface ListenerResult {
  claimed: number;
  why: "stopped" | "max-jobs";
}

/** The claim request refused for good (400): the runner's config no longer matches its registration. */
export class ClaimRefusedError extends Error {
  override name = "ClaimRefusedError";
}

/** Runs until stopped or `maxJobs` claimed; throws RunnerTokenRevokedError / ClaimRefusedError. */
export async function runListener(options: ListenerOptions): Promise<ListenerResult> {
  const { signal, log } = options;
  const wait = options.sleep ?? sleep;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  let claimed = 0;
  let failures = 0;
  let streakStarted = 0;

  while (!signal.aborted) {
    if (options.maxJobs !== undefined && claimed >= options.maxJobs) {
      return { claimed, why: "max-jobs" };
    }
    await options.dispatcher.waitForSlot(signal);
    if (signal.aborted) break;
    // Agents paused on their quota are left out; with every agent paused, wait for the first.
    const paused = options.dispatcher.pausedAgents?.() ?? new Map<string, number>();
    const agents =
      options.claim?.agents === undefined || paused.size === 0
        ? options.claim?.agents
        : unpausedAgents(options.claim.agents, paused);
    if (agents !== undefined && agents.length === 0) {
      await wait(Math.max(1_000, Math.min(...paused.values()) - Date.now()), signal);
      continue;
    }
    try {
      const answer = await options.api.claim(
        {
          ...options.claim,
          ...(agents !== undefined ? { agents } : {}),
          freeSlots: options.dispatcher.freeSlots(),
          waitSeconds: options.waitSeconds ?? 30,
        },
        { signal },
      );
      if (failures > 0) {
        log.info({ failures, downForMs: Date.now() - streakStarted }, "reconnected to the app");
        failures = 0;
      }
      if (answer === undefined) continue;
      claimed++;
      log.info({ jobId: answer.job.id, kind: answer.job.kind }, "job claimed");
      void options.dispatcher.dispatch(answer);
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof RunnerTokenRevokedError) throw error;
      if (error instanceof ApiError && error.status === 400) {
        throw new ClaimRefusedError(`the app refused this runner's claim: ${error.message}`, {
          cause: error,
        });
      }
      failures++;
      if (failures === 1) {
        streakStarted = Date.now();
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          "cannot claim jobs from the app; retrying with backoff",
        );
      }
      await wait(backoffDelay(failures, policy), signal);
    }
  }
  return { claimed, why: "stopped" };
}
