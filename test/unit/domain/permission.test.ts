import { describe, expect, it } from "vitest";

import {
  comparePermissions,
  hasAtLeast,
  parsePermission,
  permissionFromApi,
  permissionRefusalMessage,
  type CollaboratorPermissionAnswer,
  type PermissionLevel,
} from "../../../src/domain/permission.js";
import type { Permission } from "../../../src/domain/types.js";

describe("hasAtLeast", () => {
  it.each<[PermissionLevel, Permission, boolean]>([
    ["admin", "write", true],
    ["maintain", "write", true],
    ["write", "write", true],
    ["triage", "write", false],
    ["read", "write", false],
    ["none", "read", false],
    ["read", "read", true],
    ["write", "maintain", false],
    ["maintain", "admin", false],
    ["admin", "admin", true],
    ["triage", "triage", true],
  ])("%s has at least %s: %s", (actual, required, expected) => {
    const result = hasAtLeast(actual, required);

    expect(result).toBe(expected);
  });
});

describe("comparePermissions", () => {
  it("orders the levels none < read < triage < write < maintain < admin", () => {
    const shuffled: PermissionLevel[] = ["write", "admin", "none", "triage", "maintain", "read"];

    const sorted = [...shuffled].sort(comparePermissions);

    expect(sorted).toEqual(["none", "read", "triage", "write", "maintain", "admin"]);
  });
});

describe("parsePermission", () => {
  it.each([
    ["write", "write"],
    [" Admin ", "admin"],
    ["none", "none"],
    ["push", undefined],
    ["", undefined],
  ])("%j -> %s", (text, expected) => {
    expect(parsePermission(text)).toBe(expected);
  });
});

describe("permissionFromApi", () => {
  it.each<[string, CollaboratorPermissionAnswer, PermissionLevel]>([
    ["admin", { permission: "admin", role_name: "admin" }, "admin"],
    [
      "maintain shows as write with role maintain",
      { permission: "write", role_name: "maintain" },
      "maintain",
    ],
    ["write", { permission: "write", role_name: "write" }, "write"],
    [
      "triage shows as read with role triage",
      { permission: "read", role_name: "triage" },
      "triage",
    ],
    ["read", { permission: "read", role_name: "read" }, "read"],
    ["none", { permission: "none", role_name: "" }, "none"],
    ["no role name", { permission: "write" }, "write"],
    ["null role name", { permission: "read", role_name: null }, "read"],
    [
      "custom role counts by its permission",
      { permission: "write", role_name: "security-reviewer" },
      "write",
    ],
    [
      "custom role based on triage counts through the booleans",
      {
        permission: "read",
        role_name: "labeler",
        user: {
          permissions: { pull: true, triage: true, push: false, maintain: false, admin: false },
        },
      },
      "triage",
    ],
    [
      "booleans for maintain",
      {
        permission: "write",
        role_name: "release-manager",
        user: { permissions: { maintain: true } },
      },
      "maintain",
    ],
    ["unknown permission fails closed", { permission: "superuser", role_name: "wizard" }, "none"],
    ["case-insensitive", { permission: "WRITE", role_name: "Maintain" }, "maintain"],
  ])("%s", (_name, answer, expected) => {
    const level = permissionFromApi(answer);

    expect(level).toBe(expected);
  });
});

describe("permissionRefusalMessage", () => {
  it("says who, what, why and what to do", () => {
    const message = permissionRefusalMessage({
      login: "octocat",
      actual: "triage",
      required: "write",
      action: "start",
    });

    expect(message).toBe(
      "@octocat kanbot did nothing: only people with at least `write` permission on this repository may start a kanbot task, and you have `triage` permission. Ask a maintainer to do it for you.",
    );
  });

  it("says 'no access' for none", () => {
    const message = permissionRefusalMessage({
      login: "someone",
      actual: "none",
      required: "maintain",
      action: "steer",
    });

    expect(message).toContain("may give kanbot instructions, and you have no access.");
  });
});
