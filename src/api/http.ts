/**
 * The HTTP edge of the runner API: JSON bodies with a size limit, JSON answers, and errors as
 * `{ error: { code, message, issues? } }` (the protocol's `ApiErrorBody`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import {
  fieldIssues,
  type ApiErrorBody,
  type ApiErrorCode,
  type ApiFieldIssue,
} from "../protocol/index.js";

/** An answer other than 2xx, with the code and message the runner sees. */
export class ApiHttpError extends Error {
  override readonly name = "ApiHttpError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: ApiFieldIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads the body as JSON; 413 past `maxBytes`, 415 for a non-JSON content type, 400 for bad JSON. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = req.headers["content-type"];
  if (contentType !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new ApiHttpError(
      415,
      "unsupported-media-type",
      `the runner API takes JSON bodies; send Content-Type: application/json (got ${contentType})`,
    );
  }
  const text = (
    await readRawBody(req, maxBytes, () =>
      tooLarge(
        `the request body is larger than the app accepts (${maxBytes} bytes, KANBOT_API_MAX_BODY_BYTES); send smaller log batches`,
      ),
    )
  ).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiHttpError(400, "bad-request", "the request body is not valid JSON");
  }
}

/** A 413 answer with `message`. */
export function tooLarge(message: string): ApiHttpError {
  return new ApiHttpError(413, "payload-too-large", message);
}

/**
 * Reads the request body, never more than `maxBytes` of it: a `Content-Length` above the cap is
 * refused before a byte is read, and a body that streams past it (chunked, or longer than it
 * said) is refused at the chunk that crosses it; the rest is left unread. Either way the call
 * rejects with `tooLargeError()`; answer it with `sendError`, which closes the connection.
 */
export function readRawBody(
  req: IncomingMessage,
  maxBytes: number,
  tooLargeError: () => Error,
): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLargeError());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | undefined): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (error === undefined) resolve(Buffer.concat(chunks));
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > maxBytes) {
        // Stop reading: what is left is never buffered, and the answer closes the connection.
        req.pause();
        chunks.length = 0;
        settle(tooLargeError());
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = (): void => settle(undefined);
    const onError = (error: Error): void => settle(error);
    const onAborted = (): void => settle(new Error("the client closed the request"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

/** Parses `body` with `schema`; 400 naming each bad field. */
export function parseBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  const first = issues[0];
  const where =
    first === undefined ? "" : `${first.path === "" ? "(body)" : first.path}: ${first.message}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new ApiHttpError(400, "bad-request", `invalid ${what}: ${where}${more}`, issues);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendNoContent(res: ServerResponse): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(204, { "cache-control": "no-store" });
  res.end();
}

export function sendError(res: ServerResponse, error: ApiHttpError): void {
  const body: ApiErrorBody = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.issues !== undefined ? { issues: error.issues } : {}),
    },
  };
  if (error.status === 413) {
    sendUnreadBodyAnswer(res, error.status, body, error.headers);
    return;
  }
  sendJson(res, error.status, body, error.headers);
}

/** How long the rest of a refused body is drained before the connection is cut. */
const UNREAD_BODY_LINGER_MS = 2_000;

/**
 * Answers a request whose body the app did not read to its end (a 413). The answer goes out at
 * once; then the rest of the body is drained and dropped (never buffered) for at most
 * {@link UNREAD_BODY_LINGER_MS}, so the client, still sending, gets to read the answer rather
 * than a reset connection, and the connection is cut if the body has not ended by then.
 */
export function sendUnreadBodyAnswer(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  const req = res.req;
  const socket = req.socket;
  res.once("finish", () => {
    if (req.complete) return;
    const timer = setTimeout(() => socket.destroy(), UNREAD_BODY_LINGER_MS);
    timer.unref();
    req.once("end", () => clearTimeout(timer));
    req.resume();
  });
  sendJson(res, status, body, headers);
}

/** The bearer token of `Authorization: Bearer <token>`, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
