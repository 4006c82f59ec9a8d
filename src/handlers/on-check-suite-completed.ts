/** `check_suite.completed`: a suite on a PR head finished; the gate decides from every check. */
import { evaluateGateForHead, repoOf } from "./gate-trigger.js";
import type { Handler } from "./handler-context.js";

export const onCheckSuiteCompleted: Handler<"check_suite.completed"> = async (ctx, payload) => {
  await evaluateGateForHead(
    ctx,
    repoOf(payload.repository),
    payload.check_suite.head_sha,
    "check_suite",
  );
};
