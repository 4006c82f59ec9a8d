/**
 * The app's redaction of job logs as they arrive (DESIGN section 7): every chunk passes the
 * shared redaction policy (src/domain/redaction.ts) with the token shapes and the job tokens the
 * app issued for the job. The app never trusts the runner to have redacted: a runner of an older
 * version, a bug, or a runner whose agent printed a token in a form the runner did not know all
 * end here.
 *
 * A token may be split across two chunks, so each job's chunks go through one stream redactor
 * in order of their numbers: the end of a chunk that may still be the start of a token (its last
 * run of token characters) is held back and stored with the next chunk. What is held when the
 * job completes is stored as one more chunk (see {@link JobLogRedactor.finish}); when the log
 * reaches its size limit, what is held is released into the last chunk kept.
 *
 * Limits: the state lives in memory. After an app restart a chunk sent again (a duplicate the
 * store ignores) goes through a fresh redactor, and a job whose lease was lost drops what was
 * held (at most the end of one run of token characters, never a whole token).
 */
import { createStreamRedactor, redactText, type StreamRedactor } from "../domain/redaction.js";

/** The held-back end of a job's log, to store under `seq` once no more chunks come. */
export interface HeldLogText {
  seq: number;
  text: string;
}

export interface JobLogRedactor {
  /** The text to store for chunk `seq` of job `jobId` (possibly shorter: its end is held). */
  chunk(jobId: number, seq: number, text: string): string;
  /** How many characters of the job's log are held back now (they count toward its size). */
  held(jobId: number): number;
  /** Ends the job's stream: what was held, redacted, under the number after the last chunk. */
  finish(jobId: number): HeldLogText | undefined;
  /** Drops the job's stream (its lease ended without a completion). */
  forget(jobId: number): void;
}

interface JobStream {
  redactor: StreamRedactor;
  lastSeq: number;
}

/** `secrets(jobId)`: the job's live tokens, read on every chunk (tokens are issued mid-job). */
export function createJobLogRedactor(
  secrets: (jobId: number) => readonly string[],
): JobLogRedactor {
  const streams = new Map<number, JobStream>();

  function chunk(jobId: number, seq: number, text: string): string {
    let stream = streams.get(jobId);
    if (stream !== undefined && seq <= stream.lastSeq) {
      // A number already seen (a retried upload, which the store ignores) or one out of order:
      // redacted on its own, outside the stream.
      return redactText(text, secrets(jobId));
    }
    if (stream === undefined) {
      stream = { redactor: createStreamRedactor(() => secrets(jobId)), lastSeq: seq };
      streams.set(jobId, stream);
    }
    stream.lastSeq = seq;
    return stream.redactor.push(text);
  }

  function finish(jobId: number): HeldLogText | undefined {
    const stream = streams.get(jobId);
    streams.delete(jobId);
    if (stream === undefined) return undefined;
    const text = stream.redactor.flush();
    return text === "" ? undefined : { seq: stream.lastSeq + 1, text };
  }

  return {
    chunk,
    held: (jobId) => streams.get(jobId)?.redactor.held() ?? 0,
    finish,
    forget(jobId) {
      streams.delete(jobId);
    },
  };
}
