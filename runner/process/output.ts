/**
 * The path a child's output takes: bytes -> text (UTF-8, never split inside a character) ->
 * redaction (per stream, with a tail buffer) -> lines. Lines go, uncapped, to the parser of the
 * agent's output (the result event comes last, so it must not be lost to a cap) and, capped, to
 * the log that is shipped to the app, which gets one visible marker when the cap is reached.
 */
import { StringDecoder } from "node:string_decoder";

import { createStreamRedactor, type StreamRedactor } from "./redact.js";

export type OutputStream = "stdout" | "stderr";

/** The text written in place of what the cap cut off. */
export function truncationMarker(capBytes: number): string {
  return `\n[kanbot: output truncated: the log reached its limit of ${capBytes} bytes; the rest of this command's output was not kept]\n`;
}

export interface OutputPipelineOptions {
  secrets: readonly string[];
  /** Cap of the log (bytes of redacted text); the parser still sees every line. */
  maxLogBytes: number;
  /** A line longer than this is passed on in pieces (protects memory from a line with no end). */
  maxLineBytes: number;
  /** Each complete line (without its newline), redacted, uncapped. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Batches of redacted log text, whole lines where possible, capped. */
  onLog?: (text: string, stream: OutputStream) => void;
  /** The last `stderrTailLines` lines of stderr are kept for error messages. */
  stderrTailLines: number;
}

interface StreamState {
  decoder: StringDecoder;
  redactor: StreamRedactor;
  partial: string;
}

export interface OutputPipeline {
  write(stream: OutputStream, chunk: Buffer | string): void;
  /** Flushes held-back text and partial lines; call once when both streams have ended. */
  end(): void;
  readonly logBytes: number;
  readonly truncated: boolean;
  stderrTail(): string;
}

export function createOutputPipeline(options: OutputPipelineOptions): OutputPipeline {
  const states: Record<OutputStream, StreamState> = {
    stdout: newState(options.secrets),
    stderr: newState(options.secrets),
  };
  const tail: string[] = [];
  let logBytes = 0;
  let truncated = false;

  function log(text: string, stream: OutputStream): void {
    if (text === "" || options.onLog === undefined) return;
    if (truncated) return;
    const size = Buffer.byteLength(text);
    if (logBytes + size <= options.maxLogBytes) {
      logBytes += size;
      options.onLog(text, stream);
      return;
    }
    const room = options.maxLogBytes - logBytes;
    const head = Buffer.from(text)
      .subarray(0, Math.max(0, room))
      .toString("utf8")
      .replace(/\uFFFD$/, "");
    logBytes += Buffer.byteLength(head);
    truncated = true;
    options.onLog(head + truncationMarker(options.maxLogBytes), stream);
  }

  function emitLine(line: string, stream: OutputStream): void {
    options.onLine?.(line, stream);
    if (stream === "stderr") {
      tail.push(line);
      if (tail.length > options.stderrTailLines) tail.shift();
    }
  }

  function take(stream: OutputStream, text: string, final: boolean): void {
    const state = states[stream];
    state.partial += text;
    let batch = "";
    let newline = state.partial.indexOf("\n");
    while (newline !== -1) {
      const line = state.partial.slice(0, newline);
      emitLine(line, stream);
      batch += `${line}\n`;
      state.partial = state.partial.slice(newline + 1);
      newline = state.partial.indexOf("\n");
    }
    while (Buffer.byteLength(state.partial) > options.maxLineBytes) {
      const piece = state.partial.slice(0, options.maxLineBytes);
      emitLine(piece, stream);
      batch += `${piece}\n`;
      state.partial = state.partial.slice(piece.length);
    }
    if (final && state.partial !== "") {
      emitLine(state.partial, stream);
      batch += state.partial;
      state.partial = "";
    }
    log(batch, stream);
  }

  return {
    write(stream, chunk) {
      const state = states[stream];
      const text = typeof chunk === "string" ? chunk : state.decoder.write(chunk);
      take(stream, state.redactor.push(text), false);
    },
    end() {
      for (const stream of ["stdout", "stderr"] as const) {
        const state = states[stream];
        const rest = state.redactor.push(state.decoder.end()) + state.redactor.flush();
        take(stream, rest, true);
      }
    },
    get logBytes() {
      return logBytes;
    },
    get truncated() {
      return truncated;
    },
    stderrTail() {
      return tail.join("\n");
    },
  };
}

function newState(secrets: readonly string[]): StreamState {
  return {
    decoder: new StringDecoder("utf8"),
    redactor: createStreamRedactor(secrets),
    partial: "",
  };
}
