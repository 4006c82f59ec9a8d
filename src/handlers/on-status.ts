/**
 * `status`: a commit status on a PR head changed. Pending statuses decide nothing; a final one
 * lets the gate decide from every check.
 */
import { evaluateGateForHead, repoOf } from "./gate-trigger.js";
import type { Handler } from "./handler-context.js";

export const onStatus: Handler<"status"> = async (ctx, payload) => {
  if (payload.state === "pending") {
    ctx.log.debug(
      { sha: payload.sha, context: payload.context },
      "pending status; nothing to decide",
    );
    return;
  }
  await evaluateGateForHead(ctx, repoOf(payload.repository), payload.sha, "status");
};
