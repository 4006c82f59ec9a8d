/**
 * `POST /api/v1/runners`: a one-time registration token (from `kanbot runners add`) in, a runner
 * id and a long-lived runner token out. The runner token is the bearer token of every later call.
 */
import { z } from "zod";
import { AgentName, RepoFullName, RunnerLabel } from "./common.js";

/** A runner's name, as `kanbot runners list` shows it. */
export const RunnerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, {
  error:
    "expected a runner name: letters, digits, '.', '_', '@' or '-', starting with a letter or digit, at most 100 characters",
});
export type RunnerName = z.infer<typeof RunnerName>;

function uniqueList<T extends z.ZodType<string>>(item: T, max: number) {
  return z
    .array(item)
    .max(max)
    .refine((values) => new Set(values).size === values.length, {
      error: "expected no duplicates",
    });
}

export const RegisterRunnerRequest = z.object({
  /** The one-time token `kanbot runners add` printed (`kbreg_…`). */
  registrationToken: z.string().min(1, { error: "expected the registration token" }).max(200),
  /** How this runner appears in `kanbot runners list`. */
  name: RunnerName,
  /** Agents this runner can run; a job is handed out only to a runner that offers its agent. */
  agents: uniqueList(AgentName, 64).min(1, { error: "expected at least one agent" }),
  /** Labels this runner offers; a job is handed out only when every `runs-on:` label is offered. */
  labels: uniqueList(RunnerLabel, 64).default([]),
  /** Repositories (`owner/name`) this runner works on; empty means every repository. */
  repos: uniqueList(RepoFullName, 1000).default([]),
});
export type RegisterRunnerRequest = z.infer<typeof RegisterRunnerRequest>;
/** What a caller may send (defaults not yet applied). */
export type RegisterRunnerRequestInput = z.input<typeof RegisterRunnerRequest>;

export const RegisterRunnerResponse = z.object({
  runnerId: z.string().min(1),
  /** The long-lived runner token (`kbr_…`), returned only this once: keep it secret. */
  runnerToken: z.string().min(1),
  name: RunnerName,
  agents: z.array(AgentName),
  labels: z.array(RunnerLabel),
  repos: z.array(RepoFullName),
});
export type RegisterRunnerResponse = z.infer<typeof RegisterRunnerResponse>;
