/**
 * Fault injection between the steps of applying an event (issue 12), for tests only: a test arms
 * a hook that throws at a chosen point, as if the app died there (nothing after it runs), then
 * starts the app again on the same database and checks the task ends where it should. Production
 * never arms it; unarmed, a point is a no-op.
 *
 * The points, in the order the loop (./apply.ts) passes them for one event:
 * `committed` (the new state and its outbox saved, no effect run), then for each outbox effect
 * `effect-done` (it ran on GitHub, not yet ticked off) and `effect-ticked-off`.
 */
import type { OutboxEffect } from "./outbox.js";

export type FaultPoint =
  | { step: "committed"; taskId: number }
  | {
      step: "effect-done" | "effect-ticked-off";
      taskId: number;
      effect: OutboxEffect["type"];
      /** The effect's place in the outbox it ran from. */
      index: number;
    };

let hook: ((point: FaultPoint) => void) | undefined;

/** Arms (or, with undefined, disarms) the hook. Tests only. */
export function setFaultHook(next: ((point: FaultPoint) => void) | undefined): void {
  hook = next;
}

/** A point between two steps: the armed hook may throw here. */
export function faultPoint(point: FaultPoint): void {
  hook?.(point);
}
