import { describe, expect, it } from "vitest";

import { isValidBranchName } from "../../../runner/workspace/branch-name.js";

describe("isValidBranchName", () => {
  it.each([
    ["kanbot/12-fix", true],
    ["main", true],
    ["release/v1.2", true],
    ["", false],
    ["-x", false],
    ["a..b", false],
    ["a b", false],
    ["a~b", false],
    ["a:b", false],
    ["a/", false],
    ["a.lock", false],
    ["a/.hidden", false],
    ["a//b", false],
    ["a@{1}", false],
    ["@", false],
  ])("%j is %s", (name, valid) => {
    expect(isValidBranchName(name)).toBe(valid);
  });
});
