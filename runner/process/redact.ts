/**
 * The runner's side of the redaction policy. The policy itself (known secrets in every encoding,
 * token-shaped strings, encoded token shapes, the stream redactor) is src/domain/redaction.ts,
 * shared with the app; this file re-exports it and adds what only the runner knows: which
 * secrets it holds.
 */
import type { LoadedRunnerConfig } from "../config.js";

export {
  createStreamRedactor,
  hasTokenShape,
  MIN_SECRET_LENGTH,
  REDACTED,
  redactJson,
  redactingSink,
  redactText,
  secretForms,
  type SecretSource,
  type StreamRedactor,
} from "../../src/domain/redaction.js";

/**
 * The runner's own secrets, redacted from every stream, note, result and log line: its runner
 * token and the values of the variables `redactEnv` names. (Job tokens join them per job, in the
 * dispatcher, as they are fetched.)
 */
export function runnerSecrets(
  loaded: Pick<LoadedRunnerConfig, "config" | "token">,
  sourceEnv: Readonly<Record<string, string | undefined>>,
): string[] {
  const configured = loaded.config.redactEnv
    .map((name) => sourceEnv[name])
    .filter((value): value is string => value !== undefined && value !== "");
  return loaded.token === undefined || loaded.token === ""
    ? configured
    : [loaded.token, ...configured];
}
