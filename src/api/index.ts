/**
 * The runner API (DESIGN section 4), mounted on Probot's server with `addHandler`. See
 * docs/runner-api.md.
 */
export {
  createRunnerApi,
  type RunnerApi,
  type RunnerApiEvents,
  type RunnerApiHandler,
  type RunnerApiLimits,
  type RunnerApiOptions,
} from "./runner-api.js";
export { RUNNER_API_LOG_REDACT_PATHS, runnerApiLimits } from "./limits.js";
export {
  describeJob,
  gitHubWebUrl,
  taskBranchName,
  type JobWorkspaceSettings,
  type ResolveJobWorkspace,
} from "./describe-job.js";
export {
  createGitHubJobTokenBroker,
  JobTokenError,
  type AppOctokit,
  type GitHubJobTokenBrokerOptions,
  type IssuedJobToken,
  type JobTokenBroker,
} from "../tokens/job-token-broker.js";
