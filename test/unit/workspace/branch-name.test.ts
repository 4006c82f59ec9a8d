import { describe, expect, it } from "vitest";

import {
  isValidBranchName,
  slugify,
  taskBranchName,
} from "../../../runner/workspace/branch-name.js";

describe("slugify", () => {
  it.each([
    ["Fix login redirect", "fix-login-redirect"],
    ["  --Hello,   World!!  ", "hello-world"],
    ["Crème brûlée für Ärzte", "creme-brulee-fur-arzte"],
    ["日本語のタイトル", "task"],
    ["", "task"],
    ["feat(api): add `GET /v1/jobs` & docs", "feat-api-add-get-v1-jobs-docs"],
    [
      "A very long issue title that goes on and on about many different things",
      "a-very-long-issue-title-that-goes-on-and",
    ],
    ["x".repeat(60), "x".repeat(40)],
  ])("%j -> %j", (title, slug) => {
    expect(slugify(title)).toBe(slug);
    expect(slugify(title).length).toBeLessThanOrEqual(40);
  });
});

describe("taskBranchName", () => {
  it("joins prefix, issue number and slug", () => {
    expect(taskBranchName({ issueNumber: 12, title: "Fix login" })).toBe("kanbot/12-fix-login");
    expect(taskBranchName({ issueNumber: 7, title: "Docs", prefix: "bots/k-" })).toBe(
      "bots/k-7-docs",
    );
  });

  it("refuses an issue number that is not a positive integer", () => {
    expect(() => taskBranchName({ issueNumber: 0, title: "x" })).toThrow(RangeError);
    expect(() => taskBranchName({ issueNumber: 1.5, title: "x" })).toThrow(RangeError);
  });
});

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
