/**
 * The task outbox: the GitHub effects a transition still owes, saved with the state they follow
 * from (one transaction, `JobStore.commitTransition`), run by the loop, and ticked off one by one
 * as they are done. A crash, or a GitHub error that fails the delivery, leaves the rest in the
 * task row; the next event for the task (the retried delivery, at the latest) runs them first.
 *
 * Store-local effects (queueing and canceling jobs) never enter the outbox: they commit with the
 * state. Every effect in it can run again safely: labels and the board are set to what the state
 * says, the progress comment is found by its marker, an existing PR is found by its head branch,
 * a review request or "ready for review" repeated changes nothing, a deleted branch stays deleted.
 * Only the `kanbot` check run of a job could be posted twice, if the app dies between posting it
 * and ticking it off.
 */
import { z } from "zod";
import type { TaskEffect } from "../domain/task.js";
import type { JsonValue } from "../store/index.js";
import type { ClosedPullRequestFacts } from "./request.js";

/** The effects the outbox runs: everything but the store-local job effects. */
export type OutboxEffect = Exclude<TaskEffect, { type: "enqueue-job" | "cancel-job" }>;

const OUTBOX_EFFECT_TYPES: ReadonlySet<string> = new Set<OutboxEffect["type"]>([
  "set-label",
  "update-board",
  "update-progress-comment",
  "open-pr",
  "update-pr",
  "mark-pr-ready",
  "request-review",
  "delete-branch",
  "evaluate-checks",
  "post-question",
]);

export function isOutboxEffect(effect: TaskEffect): effect is OutboxEffect {
  return OUTBOX_EFFECT_TYPES.has(effect.type);
}

const OutboxSchema = z.object({
  /** What is still to do, in order. */
  effects: z.array(
    z.custom<OutboxEffect>(
      (value) =>
        typeof value === "object" &&
        value !== null &&
        OUTBOX_EFFECT_TYPES.has(String((value as { type?: unknown }).type)),
      { message: "not an outbox effect" },
    ),
  ),
  /** Who caused the transition. */
  actor: z.string(),
  /** The finished job whose result the PR effects publish. */
  jobId: z.number().int().optional(),
  /** For `delete-branch`: the merged PR's branches. */
  closed: z
    .object({
      headBranch: z.string(),
      baseBranch: z.string(),
      defaultBranch: z.string(),
      sameRepository: z.boolean(),
    })
    .optional(),
});

export interface Outbox {
  effects: OutboxEffect[];
  actor: string;
  jobId?: number | undefined;
  closed?: ClosedPullRequestFacts | undefined;
}

/** The outbox as the task row keeps it. */
export function outboxJson(outbox: Outbox): JsonValue {
  return JSON.parse(JSON.stringify(outbox)) as JsonValue;
}

/** The task row's outbox; an unreadable one is reported and dropped (it cannot be run). */
export function parseOutbox(
  value: JsonValue | undefined,
): { ok: true; outbox: Outbox | undefined } | { ok: false; error: string } {
  if (value === undefined || value === null) return { ok: true, outbox: undefined };
  const parsed = OutboxSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: parsed.error.message };
  const { effects, actor, jobId, closed } = parsed.data;
  return {
    ok: true,
    outbox: {
      effects,
      actor,
      ...(jobId === undefined ? {} : { jobId }),
      ...(closed === undefined ? {} : { closed }),
    },
  };
}
