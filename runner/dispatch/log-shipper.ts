/**
 * Streams a job's log to the app in numbered chunks (`POST /jobs/:id/log`). Text arrives already
 * redacted from the process layer (agent and command output); the runner's own lines are
 * redacted here. Chunks are numbered 0, 1, 2… once and kept until the app has them, so a retried
 * upload after a network error is stored once (the app ignores a number it already has).
 *
 * Uploads run one at a time, every `flushIntervalMs` or when enough text is waiting; `close`
 * sends what is left. Given `remainingMs` (the lease's time left), an upload rides out app blips:
 * it is retried with backoff while the lease lasts (runner/client.ts), the text kept meanwhile. A
 * 409 (lease lost) or the end of the lease ends shipping: the job is no longer ours.
 */
import type { Logger } from "pino";

import {
  LeaseLostError,
  RunnerTokenRevokedError,
  type CallOptions,
  type JobApi,
} from "../client.js";
import { redactText } from "../process/redact.js";
import type { LogChunk } from "../../src/protocol/index.js";

export interface LogShipperOptions {
  api: Pick<JobApi, "appendLog">;
  jobId: number;
  leaseToken: string;
  /** Values to redact from the runner's own lines (the job token, configured secrets). */
  secrets: () => readonly string[];
  /** The app's body size limit (`limits.maxBodyBytes` of the job). */
  maxBodyBytes: number;
  /** Largest chunk. Default 64 KiB (or less, to fit the body limit). */
  maxChunkBytes?: number;
  /** How often waiting text is sent. Default 1 s. */
  flushIntervalMs?: number;
  /** The job's lease time left (ms): uploads are retried while it is positive. */
  remainingMs?: () => number;
  /** Aborted when the job is given up: an upload under way stops. */
  signal?: AbortSignal;
  log: Logger;
}

export interface LogShipper {
  /** Output that is already redacted (from `runCommand`'s `onLog`). */
  write(text: string): void;
  /** A line of the runner's own, redacted here, prefixed `[kanbot-runner]`. */
  note(line: string): void;
  /** Sends everything written so far (best effort: errors keep the chunks for the next try). */
  flush(): Promise<void>;
  /** Stops the timer and sends what is left, retrying a few times. */
  close(): Promise<void>;
  /** Chunks numbered so far. */
  readonly chunks: number;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024;
const CLOSE_TRIES = 3;

export function createLogShipper(options: LogShipperOptions): LogShipper {
  const maxChunkBytes = Math.max(
    256,
    Math.min(options.maxChunkBytes ?? DEFAULT_CHUNK_BYTES, Math.floor(options.maxBodyBytes / 4)),
  );
  const maxRequestBytes = Math.max(maxChunkBytes, Math.floor(options.maxBodyBytes / 2));
  let buffer = "";
  const pending: LogChunk[] = [];
  let nextSeq = 0;
  let stopped = false;
  let errorLogged = false;
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1_000);
  timer.unref();

  function write(text: string): void {
    if (stopped || text === "") return;
    buffer += text;
    if (Buffer.byteLength(buffer) >= maxChunkBytes) cut();
  }

  function note(line: string): void {
    write(`[kanbot-runner] ${redactText(line, options.secrets())}\n`);
  }

  /** Moves the buffer into numbered chunks of at most `maxChunkBytes`, cut at line ends when possible. */
  function cut(): void {
    while (buffer !== "") {
      let piece = buffer;
      if (Buffer.byteLength(piece) > maxChunkBytes) {
        piece = Buffer.from(buffer).subarray(0, maxChunkBytes).toString("utf8");
        // A cut character decodes to U+FFFD: drop it, it goes with the next chunk.
        if (piece.endsWith("\uFFFD") && !buffer.startsWith(piece)) piece = piece.slice(0, -1);
        const newline = piece.lastIndexOf("\n");
        if (newline > 0) piece = piece.slice(0, newline + 1);
      }
      pending.push({ seq: nextSeq++, text: piece });
      buffer = buffer.slice(piece.length);
    }
  }

  function flush(): Promise<void> {
    inFlight ??= send().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  async function send(): Promise<void> {
    cut();
    while (!stopped && pending.length > 0) {
      const batch: LogChunk[] = [];
      let bytes = 0;
      for (const chunk of pending) {
        const size = Buffer.byteLength(chunk.text) + 32;
        if (batch.length > 0 && (bytes + size > maxRequestBytes || batch.length >= 500)) break;
        batch.push(chunk);
        bytes += size;
      }
      try {
        await options.api.appendLog(
          options.jobId,
          { leaseToken: options.leaseToken, chunks: batch },
          callOptions(),
        );
        pending.splice(0, batch.length);
        errorLogged = false;
      } catch (error) {
        if (error instanceof LeaseLostError || error instanceof RunnerTokenRevokedError) {
          stopped = true;
          pending.length = 0;
          options.log.warn({ jobId: options.jobId }, "log upload refused; no more log is sent");
          return;
        }
        failed(error);
        return;
      }
    }
  }

  function failed(error: unknown): void {
    if (errorLogged) return;
    errorLogged = true;
    options.log.warn(
      { jobId: options.jobId, err: (error as Error).message },
      "log upload failed; retrying later",
    );
  }

  function callOptions(): CallOptions {
    const { remainingMs, signal } = options;
    return {
      ...(signal !== undefined ? { signal } : {}),
      ...(remainingMs !== undefined ? { retry: { remainingMs, onRetry: failed } } : {}),
    };
  }

  async function close(): Promise<void> {
    clearInterval(timer);
    for (let attempt = 0; attempt < CLOSE_TRIES && !stopped; attempt++) {
      await flush();
      if (pending.length === 0 && buffer === "") break;
    }
    stopped = true;
  }

  return {
    write,
    note,
    flush,
    close,
    get chunks() {
      return nextSeq;
    },
  };
}
