/**
 * Who may (DESIGN section 7): the actor's permission is asked from GitHub (never taken from the
 * author association on the event) and compared with the config's `minimumPermission`. Someone
 * below it gets one short reply saying why nothing happened.
 */
import type { IssueRef } from "../domain/dependencies.js";
import { hasAtLeast, permissionRefusalMessage, type GuardedAction } from "../domain/permission.js";
import type { Permission } from "../domain/types.js";
import type { HandlerContext } from "./handler-context.js";

export async function authorize(
  ctx: HandlerContext,
  issue: IssueRef,
  login: string,
  required: Permission,
  action: GuardedAction,
): Promise<boolean> {
  const actual = await ctx.github.permissionOf(issue, login);
  if (hasAtLeast(actual, required)) return true;
  ctx.log.info(
    { issue, login, actual, required, action },
    "actor below the required permission; refused",
  );
  await ctx.github.createComment(
    issue,
    permissionRefusalMessage({ login, actual, required, action }),
  );
  return false;
}
