/**
 * A finished job's result, typed: what the runner reported at `complete`, validated there with
 * the protocol's schema (src/protocol/jobs.ts), stored as JSON in `jobs.result`, and parsed
 * once more where the row is read, so that every reader gets a `JobResult`, never raw JSON.
 */
import type { z } from "zod";
import {
  CanceledOutcome,
  FailedOutcome,
  NeedsInputOutcome,
  ValidationResult,
} from "../protocol/index.js";

/**
 * The runner's outcome without `status` and `error` (they have their own columns): the widest of
 * the three outcomes, so every field is optional but `validation` (empty when none ran).
 */
export const JobResult = FailedOutcome.omit({ status: true, error: true })
  .extend(CanceledOutcome.pick({ reason: true }).shape)
  .extend(NeedsInputOutcome.partial().pick({ question: true }).shape);
export type JobResult = z.infer<typeof JobResult>;

/**
 * A stored (or just reported) result as a `JobResult`; undefined when there is none. Tolerant of rows an older
 * kanbot (or a test) wrote: a field that does not pass the schema is left out, not fatal, and a
 * validation entry that does not pass is dropped.
 */
export function parseJobResult(value: unknown): JobResult | undefined {
  if (value === undefined) return undefined;
  const whole = JobResult.safeParse(value);
  if (whole.success) return whole.data;
  const fields: Record<string, unknown> =
    typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value } : {};
  const kept: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(JobResult.shape)) {
    if (key === "validation") continue;
    const field = schema.safeParse(fields[key]);
    if (field.success && field.data !== undefined) kept[key] = field.data;
  }
  const validation = Array.isArray(fields.validation) ? fields.validation : [];
  kept.validation = validation.flatMap((entry) => {
    const parsed = ValidationResult.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
  return JobResult.parse(kept);
}
