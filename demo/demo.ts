// `npm run demo`: the whole kanbot loop against the local GitHub simulator (docs/testing.md,
// "End-to-end tests and the demo"). Entry file only: the demo is test/e2e/demo.ts.
import { demoMain } from "../test/e2e/demo.js";

process.exitCode = await demoMain(process.argv.slice(2));
