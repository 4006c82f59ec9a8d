import { describe, expect, it } from "vitest";

import { matchesGlob, pathsMatching } from "../../../runner/workspace/glob.js";

describe("matchesGlob", () => {
  it.each([
    [".github/workflows/**", ".github/workflows/ci.yml", true],
    [".github/workflows/**", ".github/workflows/nested/deploy.yaml", true],
    [".github/workflows/**", ".github/workflows", true],
    [".github/workflows/**", ".github/dependabot.yml", false],
    [".github/workflows/**", "x/.github/workflows/ci.yml", false],
    [".github/workflows/*.yml", ".github/workflows/ci.yml", true],
    [".github/workflows/*.yml", ".github/workflows/a/ci.yml", false],
    [".github/workflows/*.{yml,yaml}", ".github/workflows/ci.yaml", true],
    [".github/workflows/", ".github/workflows/ci.yml", true],
    ["**/*.pem", "key.pem", true],
    ["**/*.pem", "deep/er/.hidden.pem", true],
    ["**/*.pem", "key.pem.txt", false],
    ["src/**/secret.ts", "src/secret.ts", true],
    ["src/**/secret.ts", "src/a/b/secret.ts", true],
    ["src/**/secret.ts", "srcx/secret.ts", false],
    ["*.env", ".env", true],
    ["*.env", "config/.env", false],
    [".env", ".env", true],
    [".env", "x.env", false],
    ["file?.txt", "file1.txt", true],
    ["file?.txt", "file/.txt", false],
    ["[ab].txt", "a.txt", true],
    ["[!ab].txt", "a.txt", false],
    ["[!ab].txt", "c.txt", true],
    ["a+b(c).txt", "a+b(c).txt", true],
    ["a+b(c).txt", "aab(c).txt", false],
    ["**", "anything/at/all", true],
    ["./docs/*.md", "docs/a.md", true],
    ["docs/*.md", "./docs/a.md", true],
  ])("%s against %s is %s", (pattern, path, expected) => {
    expect(matchesGlob(path, pattern)).toBe(expected);
  });
});

describe("pathsMatching", () => {
  it("returns each matching path once, sorted", () => {
    const paths = ["src/a.ts", ".github/workflows/b.yml", ".github/workflows/a.yml", ".env"];

    const hits = pathsMatching(paths, [".github/workflows/**", "**/*.yml", ".env"]);

    expect(hits).toEqual([".env", ".github/workflows/a.yml", ".github/workflows/b.yml"]);
  });
});
