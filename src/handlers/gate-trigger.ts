/**
 * What the three check events share: find the kanbot task whose accepted PR head is the event's
 * SHA, and evaluate its gate. An event about any other SHA (an older head, a branch kanbot does
 * not own) finds no task and changes nothing.
 */
import type { RepoRef } from "../domain/dependencies.js";
import { runGate } from "../tasks/apply.js";
import { taskOfHead } from "../tasks/lookup.js";
import type { HandlerContext } from "./handler-context.js";

export async function evaluateGateForHead(
  ctx: HandlerContext,
  repo: RepoRef,
  sha: string,
  source: string,
): Promise<void> {
  const task = await taskOfHead(ctx, repo, sha);
  if (task === undefined) {
    ctx.log.debug({ repo, sha, source }, "no kanbot task has this head; check event ignored");
    return;
  }
  await runGate(ctx, task.id, sha);
}

export function repoOf(repository: { name: string; owner: { login: string } }): RepoRef {
  return { owner: repository.owner.login, repo: repository.name };
}
