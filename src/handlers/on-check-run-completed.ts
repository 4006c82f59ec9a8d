/**
 * `check_run.completed`: one check on a PR head finished; the gate decides from every check.
 * kanbot's own check run is left out at once (it never gates itself).
 */
import { evaluateGateForHead, repoOf } from "./gate-trigger.js";
import type { Handler } from "./handler-context.js";

export const onCheckRunCompleted: Handler<"check_run.completed"> = async (ctx, payload) => {
  const run = payload.check_run;
  const slug = ctx.botLogin.replace(/\[bot\]$/, "");
  if (run.name === "kanbot" && run.app?.slug === slug) {
    ctx.log.debug({ checkRunId: run.id }, "kanbot's own check run; ignored");
    return;
  }
  await evaluateGateForHead(ctx, repoOf(payload.repository), run.head_sha, "check_run");
};
