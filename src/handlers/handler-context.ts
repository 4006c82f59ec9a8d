/**
 * What a handler gets: the task context for the delivery's installation, and the delivery's
 * id. Each handler guards (logging why it returns early), plans with the pure domain and
 * applies through the task loop (src/tasks/); dry-run wraps the GitHub ports.
 */
import type { Context } from "probot";
import type { IssueRef } from "../domain/dependencies.js";
import type { TaskContext } from "../tasks/context.js";

export interface HandlerContext extends TaskContext {
  /** `X-GitHub-Delivery` of the event being handled. */
  deliveryId: string;
  /**
   * Which processing attempt this is (1 for the first) and whether it is the inbox's last: a
   * handler that fails on purpose to be retried can say so instead of failing a final time.
   * Undefined outside the inbox worker.
   */
  deliveryAttempt?: { number: number; final: boolean };
  /** When the inbox recorded the delivery. Undefined outside the inbox worker. */
  deliveryReceivedAt?: Date;
}

/** A webhook event name with its action, as Probot names them (`issues.labeled`). */
export type EventName = Context["name"] | `${Context["name"]}.${string}`;

/** The payload of `event`, as Probot types it. */
export type EventPayload<Event extends Context["name"]> = Context<Event>["payload"];

/** A handler of one event: it returns when the event is fully applied, or throws to retry. */
export type Handler<Event extends Context["name"]> = (
  ctx: HandlerContext,
  payload: EventPayload<Event>,
) => Promise<void>;

/** The issue (or PR) a payload's repository and number name. */
export function issueRefOf(
  repository: { name: string; owner: { login: string } },
  number: number,
): IssueRef {
  return { owner: repository.owner.login, repo: repository.name, number };
}
