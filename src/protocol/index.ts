/**
 * The runner API's wire format (DESIGN section 4), shared by the app (src/api/) and the runner
 * (runner/client.ts). zod only: schema and type share one name. See docs/runner-api.md.
 */
export * from "./common.js";
export * from "./jobs.js";
export * from "./runners.js";
export * from "./vocabulary.js";
