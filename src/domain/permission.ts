/**
 * Repository permission levels (DESIGN section 7): who may start, retry or steer a task.
 */

import { PERMISSIONS, type Permission } from "./types.js";

/** A person's level on a repository; `none` when they have no access at all. */
export type PermissionLevel = Permission | "none";

/** Lowest to highest: `none` < `read` < `triage` < `write` < `maintain` < `admin`. */
export const PERMISSION_LEVELS = [
  "none",
  ...PERMISSIONS,
] as const satisfies readonly PermissionLevel[];

/** The rank of a level: 0 for `none` up to 5 for `admin`. */
export function permissionRank(level: PermissionLevel): number {
  return PERMISSION_LEVELS.indexOf(level);
}

/** Negative when `a` is below `b`, 0 when equal, positive when above (usable with `sort`). */
export function comparePermissions(a: PermissionLevel, b: PermissionLevel): number {
  return permissionRank(a) - permissionRank(b);
}

/** Whether `actual` is at least `required`. `none` never is. */
export function hasAtLeast(actual: PermissionLevel, required: Permission): boolean {
  return actual !== "none" && comparePermissions(actual, required) >= 0;
}

/** Parses a level name (case-insensitive, trimmed); `undefined` when it is not one. */
export function parsePermission(text: string): PermissionLevel | undefined {
  const wanted = text.trim().toLowerCase();
  return PERMISSION_LEVELS.find((level) => level === wanted);
}

/**
 * The answer of `GET /repos/{owner}/{repo}/collaborators/{username}/permission`, as far as
 * kanbot reads it.
 */
export interface CollaboratorPermissionAnswer {
  /** The legacy level: `admin`, `write`, `read` or `none` (maintain shows as write, triage as read). */
  permission: string;
  /** The role: `admin`, `maintain`, `write`, `triage`, `read` or the name of a custom role. */
  role_name?: string | null;
  /** The booleans GitHub adds for the user; a custom role's base role shows here. */
  user?: {
    permissions?: {
      admin?: boolean;
      maintain?: boolean;
      push?: boolean;
      triage?: boolean;
      pull?: boolean;
    };
  } | null;
}

/**
 * Maps GitHub's collaborator-permission answer to one level: the highest of the legacy
 * `permission`, a `role_name` that names a built-in level, and the `user.permissions` booleans.
 * A custom role (any other `role_name`) counts through its legacy `permission` and the booleans,
 * which carry its base role. Anything unrecognised counts as `none` (fail closed).
 */
export function permissionFromApi(answer: CollaboratorPermissionAnswer): PermissionLevel {
  const candidates: PermissionLevel[] = [
    parsePermission(answer.permission) ?? "none",
    parsePermission(answer.role_name ?? "") ?? "none",
  ];
  const flags = answer.user?.permissions;
  if (flags?.admin === true) candidates.push("admin");
  if (flags?.maintain === true) candidates.push("maintain");
  if (flags?.push === true) candidates.push("write");
  if (flags?.triage === true) candidates.push("triage");
  if (flags?.pull === true) candidates.push("read");
  return candidates.reduce((best, level) => (comparePermissions(level, best) > 0 ? level : best));
}

/** What the actor tried to do, for the refusal reply. */
export type GuardedAction = "start" | "cancel" | "retry" | "steer" | "status" | "ready" | "answer";

export interface PermissionRefusal {
  login: string;
  actual: PermissionLevel;
  required: Permission;
  action: GuardedAction;
}

const ACTION_TEXT = {
  start: "start a kanbot task",
  cancel: "cancel a kanbot task",
  retry: "retry a kanbot task",
  steer: "give kanbot instructions",
  status: "ask kanbot for status",
  ready: "mark a kanbot pull request ready without checks",
  answer: "answer a kanbot agent's question",
} as const satisfies Record<GuardedAction, string>;

/**
 * The short reply to someone below the required level: what was refused, why, and what to do.
 * Logins are plain `[A-Za-z0-9-]` (plus `[bot]`), so they need no escaping.
 */
export function permissionRefusalMessage(refusal: PermissionRefusal): string {
  const has = refusal.actual === "none" ? "no access" : `\`${refusal.actual}\` permission`;
  return (
    `@${refusal.login} kanbot did nothing: only people with at least \`${refusal.required}\` ` +
    `permission on this repository may ${ACTION_TEXT[refusal.action]}, and you have ${has}. ` +
    `Ask a maintainer to do it for you.`
  );
}
