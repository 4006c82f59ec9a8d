import { describe, expect, it } from "vitest";
import {
  assertRepoName,
  InvalidRepositoryNameError,
  OwnerLogin,
  RepoName,
  repoNameProblem,
} from "../../../src/domain/repo-name.js";
import { RepoFullName, RepoOwner, RepoShortName } from "../../../src/protocol/index.js";

const OWNERS: [string, boolean][] = [
  ["octocat", true],
  ["Codertocat", true],
  ["a", true],
  ["my-org-2", true],
  ["a".repeat(39), true],
  ["a".repeat(40), false],
  ["-leading", false],
  ["", false],
  ["a/b", false],
  ["..", false],
  ["a.b", false],
  ["a_b", false],
  ["a b", false],
  ["%2e%2e", false],
];

const NAMES: [string, boolean][] = [
  ["Hello-World", true],
  ["kanbot", true],
  ["a.b_c-d", true],
  [".github", true],
  ["...", true],
  ["x".repeat(100), true],
  ["x".repeat(101), false],
  [".", false],
  ["..", false],
  ["", false],
  ["a/b", false],
  ["a%2fb", false],
  ["a b", false],
  ["a\nb", false],
];

describe("repository owners and names as GitHub allows them", () => {
  it.each(OWNERS)("owner %j allowed: %s", (owner, allowed) => {
    expect(OwnerLogin.safeParse(owner).success).toBe(allowed);
    // The protocol keeps its own copy (it may import only zod): the same answer.
    expect(RepoOwner.safeParse(owner).success).toBe(allowed);
  });

  it.each(NAMES)("name %j allowed: %s", (name, allowed) => {
    expect(RepoName.safeParse(name).success).toBe(allowed);
    expect(RepoShortName.safeParse(name).success).toBe(allowed);
    expect(RepoFullName.safeParse(`octocat/${name}`).success).toBe(allowed);
  });

  it("names the part that is wrong", () => {
    expect(repoNameProblem("acme", "..")).toMatch(/^name "\.\.": .*'\.' or '\.\.'/);
    expect(repoNameProblem("a/b", "widgets")).toMatch(/^owner "a\/b": /);
    expect(repoNameProblem("acme", "widgets")).toBeUndefined();
  });

  it("throws a named error that says what was refused and that nothing was sent", () => {
    const attempt = () => assertRepoName("acme", "..", "read the repository");

    expect(attempt).toThrow(InvalidRepositoryNameError);
    expect(attempt).toThrow(/refused to read the repository: .*no request was sent/);
  });
});
