/**
 * The GitHub simulator: a local GitHub (REST, GraphQL, git over HTTP, webhooks, CI) for the
 * end-to-end tests and the demo. See docs/testing.md, "The GitHub simulator".
 */
export {
  DEFAULT_APP_PERMISSIONS,
  startSimulator,
  type Actor,
  type ProjectSpec,
  type RepoSpec,
  type Simulator,
  type SimulatorOptions,
} from "./simulator.js";
export { CI_APP, GitHubRefusal, type CiRun } from "./github.js";
export type { Violation } from "./rest.js";
export {
  GITHUB_LIMITS,
  RateLimiter,
  type ClassCounts,
  type LimitConfig,
  type LimitRefusal,
  type LimitsOption,
  type RequestClass,
} from "./rate-limits.js";
export type { GitRequest } from "./server.js";
export { verifySignature, type Delivery, type WebhookTarget } from "./webhooks.js";
