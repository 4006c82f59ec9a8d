/**
 * The few words of the domain the runner API needs, copied here because `src/protocol/` may
 * import only zod (it is shared with runner/). A unit test keeps them equal to the domain's.
 */
import { z } from "zod";

/** What a job asks the agent to do (`JOB_KINDS` in src/domain/types.ts). */
export const JOB_KINDS = ["implement", "fix-checks", "revise", "rebase", "answer"] as const;
export const JobKind = z.enum(JOB_KINDS);
export type JobKind = z.infer<typeof JobKind>;

/** How a runner may end a job (the store's `JobOutcome` statuses). */
export const JOB_OUTCOME_STATUSES = ["succeeded", "failed", "needs-input", "canceled"] as const;
export const JobOutcomeStatus = z.enum(JOB_OUTCOME_STATUSES);
export type JobOutcomeStatus = z.infer<typeof JobOutcomeStatus>;

/**
 * Why a failed agent run failed (`AGENT_FAILURE_CLASSES` in src/domain/task.ts, kept equal by test/unit/runner/failure-class.test.ts; the runner uses this one): `auth` (not
 * logged in, invalid key, 401/403), `quota` (usage or rate limit, 429, no credit), `transient`
 * (5xx, overloaded, network), `task` (everything else), and `config`: not the agent's but the
 * repository's (its prompt template `.github/kanbot/prompt.md` does not parse or render).
 */
export const FAILURE_CLASSES = ["auth", "quota", "transient", "task", "config"] as const;
export const FailureClass = z.enum(FAILURE_CLASSES);
export type FailureClass = z.infer<typeof FailureClass>;

/** Agents kanbot knows without any runner offering them (`BUILT_IN_AGENTS` in the domain). */
export const BUILT_IN_AGENTS = ["claude", "codex", "gemini", "aider", "opencode"] as const;
