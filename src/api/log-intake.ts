/**
 * `POST /api/v1/jobs/:id/log`: the log intake. Chunks of one job are taken one request at a
 * time (a per-job lock), in `seq` order, through the redaction policy (the job's live GitHub
 * tokens and the redactor that finds a secret split across two chunks), and stored until the
 * job's log reaches its size limit; the last chunk kept ends with a truncation marker and later
 * ones are dropped. The bytes stored so far are counted once per job from the store, then kept.
 */
import type { Logger } from "pino";
import type { AppendLogRequest, AppendLogResponse } from "../protocol/index.js";
import type { Job, JobStore } from "../store/index.js";
import type { JobTokenBroker } from "../tokens/job-token-broker.js";
import { createJobLogRedactor } from "./log-redaction.js";
import type { RunnerApiLimits } from "./runner-api.js";

const TRUNCATION_MARKER = "\n[kanbot: the log reached its size limit; later output was dropped]\n";

interface LogState {
  bytes: number;
  truncated: boolean;
}

export interface LogIntake {
  /** Stores the request's chunks (after checking the lease), answering what became of each. */
  append(job: Job, body: AppendLogRequest): Promise<AppendLogResponse>;
  /** Stores the end of the log the redactor still holds back; call before the lease ends. */
  flush(job: Job, leaseToken: string): Promise<void>;
  /** The lease ended: drops the job's bookkeeping. */
  forget(jobId: number): void;
}

export function createLogIntake(options: {
  store: JobStore;
  limits: RunnerApiLimits;
  log: Logger;
  jobTokens: JobTokenBroker;
}): LogIntake {
  const { store, limits, log, jobTokens } = options;
  const logStates = new Map<number, Promise<LogState>>();
  const logLocks = new Map<number, Promise<unknown>>();
  // The redaction policy over each job's chunks in order (a token split across two is found).
  const logRedactor = createJobLogRedactor((jobId) => jobTokens.liveTokens?.(jobId) ?? []);

  /** Stores log chunks; `held` marks the redactor's own held-back end, already redacted. */
  async function appendLog(
    job: Job,
    body: AppendLogRequest,
    held = false,
  ): Promise<AppendLogResponse> {
    return withLogLock(job.id, async () => {
      await store.assertLease(job.id, body.leaseToken);
      // The job's tokens, wherever they were issued (another replica, before a restart).
      if (!held) await jobTokens.refresh?.(job.id);
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

  return {
    append: (job, body) => appendLog(job, body),
    async flush(job, leaseToken) {
      const rest = logRedactor.finish(job.id);
      if (rest !== undefined) await appendLog(job, { leaseToken, chunks: [rest] }, true);
    },
    forget(jobId) {
      logStates.delete(jobId);
      logRedactor.forget(jobId);
    },
  };
}
