/**
 * The webhook intake in front of Probot's middleware (`@octokit/webhooks`' node middleware),
 * which reads the whole request body into memory, however large, before it checks the
 * signature. This intake:
 *
 * 1. refuses a body over GitHub's own cap (25 MB: "Payloads are capped at 25 MB. If an event
 *    generates a larger payload, GitHub will not deliver a payload", GitHub's "Webhook events
 *    and payloads") with 413: from `Content-Length` before reading a byte, or at the chunk that
 *    crosses the cap; the rest is never read and the connection is closed;
 * 2. checks the signature (`X-Hub-Signature-256`) on the raw bytes before anything parses them;
 * 3. answers 400 to a signed body that is not a JSON object (`null`, a string, an array, a
 *    number, broken JSON), which Probot would otherwise hand to the app or fail on with a 500;
 * 4. hands every other request to Probot's middleware with the body already read, which it then
 *    uses as it is (`request.body` as a string): an unsigned or badly signed delivery, a wrong
 *    content type or a missing header is answered by Probot as before.
 *
 * Once Probot has verified a delivery, the app function records it in the inbox through
 * ./record-delivery.ts, which checks the payload's shape per event: a signed object that does
 * not fit its event is recorded as invalid.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { readRawBody, sendUnreadBodyAnswer } from "../api/http.js";

/**
 * GitHub's cap on a webhook payload, 25 MB. Read as MiB (26,214,400 bytes), the larger of the
 * two readings, so no payload GitHub sends is ever refused.
 */
export const WEBHOOK_MAX_BODY_BYTES = 25 * 1024 * 1024;

/** Probot's node middleware, as `Server` puts it first in its handler chain. */
export type WebhookMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: () => void,
) => Promise<boolean | void> | boolean | void;

export interface WebhookIntakeOptions {
  /** The webhook path (`WEBHOOK_PATH`); other paths go straight to `inner`. */
  path: string;
  /** Whether `signature` is a valid `X-Hub-Signature-256` of `body` (Probot's `webhooks.verify`). */
  verify: (body: string, signature: string) => Promise<boolean>;
  log: Logger;
  /** Default {@link WEBHOOK_MAX_BODY_BYTES}. */
  maxBytes?: number;
}

class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
}

/** `inner` (Probot's webhook middleware) behind the intake's size, signature and JSON checks. */
export function webhookIntake(
  inner: WebhookMiddleware,
  options: WebhookIntakeOptions,
): WebhookMiddleware {
  const maxBytes = options.maxBytes ?? WEBHOOK_MAX_BODY_BYTES;
  const webhookPath = withoutTrailingSlashes(options.path);

  return async function intake(req, res, next) {
    if (req.method !== "POST" || pathOf(req) !== webhookPath) return inner(req, res, next);
    const facts = {
      deliveryId: header(req, "x-github-delivery"),
      event: header(req, "x-github-event"),
    };

    // 1. Size.
    let raw: Buffer;
    try {
      raw = await readRawBody(
        req,
        maxBytes,
        () => new PayloadTooLargeError("webhook body over the cap"),
      );
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError)) {
        options.log.info({ ...facts, err: error }, "webhook request ended before its body");
        return true;
      }
      options.log.warn(
        { ...facts, maxBytes, declaredBytes: header(req, "content-length") },
        "webhook body larger than GitHub's 25 MB cap; refused unread",
      );
      sendUnreadBodyAnswer(res, 413, {
        error: `the webhook body is larger than ${maxBytes} bytes (GitHub caps payloads at 25 MB); it was not read`,
      });
      return true;
    }
    const body = raw.toString("utf8");

    // 2. Signature, on the raw bytes, before anything parses them.
    const signature = header(req, "x-hub-signature-256");
    const signed =
      signature !== undefined && (await options.verify(body, signature).catch(() => false));

    // 3. A signed body must be a JSON object.
    if (signed && !isJsonObject(body)) {
      options.log.warn(facts, "signed webhook body is not a JSON object; refused");
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "the webhook payload must be a JSON object" }));
      return true;
    }

    // 4. Probot: it uses the body read here instead of reading the request again.
    (req as IncomingMessage & { body?: string }).body = body;
    return inner(req, res, next);
  };
}

/**
 * `Base` (Probot's class with kanbot's defaults) whose webhook middleware sits behind
 * {@link webhookIntake}. Probot's `Server` puts that middleware first in its handler chain, so
 * wrapping it here is the one place that sees a webhook request before anything reads it.
 */
export function withWebhookIntake(
  Base: typeof Probot,
  options: { maxBytes?: number } = {},
): typeof Probot {
  return class KanbotProbot extends Base {
    override async getNodeMiddleware(
      middlewareOptions: Parameters<Probot["getNodeMiddleware"]>[0] = {},
    ): ReturnType<Probot["getNodeMiddleware"]> {
      const inner = await super.getNodeMiddleware(middlewareOptions);
      const intake = webhookIntake(inner, {
        path: middlewareOptions.path ?? this.webhookPath,
        verify: (body, signature) => this.webhooks.verify(body, signature),
        log: (middlewareOptions.log ?? this.log).child({ name: "webhook-intake" }),
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      });
      return intake as Awaited<ReturnType<Probot["getNodeMiddleware"]>>;
    }
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

function pathOf(req: IncomingMessage): string | undefined {
  try {
    return withoutTrailingSlashes(new URL(req.url ?? "/", "http://kanbot.invalid").pathname);
  } catch {
    return undefined;
  }
}

function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/** Whether `body` is JSON whose top level is an object (not null, an array or a scalar). */
function isJsonObject(body: string): boolean {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
