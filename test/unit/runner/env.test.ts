import { describe, expect, it } from "vitest";

import { buildChildEnv, isGitHubToken, JOB_MARKER_VARIABLE } from "../../../runner/process/env.js";

const source = {
  PATH: "/usr/bin",
  HOME: "/home/runner",
  LANG: "C.UTF-8",
  TERM: "xterm",
  GITHUB_TOKEN: "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
  GH_TOKEN: "gho_abcdefghijklmnopqrstuvwxyz0123456789",
  KANBOT_RUNNER_TOKEN: "kbr_secret",
  ANTHROPIC_API_KEY: "sk-ant-123",
  NPM_TOKEN: "npm_abc",
  AWS_SECRET_ACCESS_KEY: "aws",
  INNOCENT: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
  RANDOM: "not allowlisted",
};

describe("buildChildEnv", () => {
  it("keeps only the base allowlist and sets the job marker", () => {
    const env = buildChildEnv({ source, jobId: "job-1" });

    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/runner",
      LANG: "C.UTF-8",
      TERM: "xterm",
      [JOB_MARKER_VARIABLE]: "job-1",
    });
  });

  it("drops secret-looking names even when allowlisted, unless named as credentials", () => {
    const env = buildChildEnv({
      source,
      allow: ["NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "RANDOM"],
      credentials: ["ANTHROPIC_API_KEY"],
    });

    expect(env.RANDOM).toBe("not allowlisted");
    expect(env.ANTHROPIC_API_KEY).toBe("sk-ant-123");
    expect(env).not.toHaveProperty("NPM_TOKEN");
    expect(env).not.toHaveProperty("AWS_SECRET_ACCESS_KEY");
  });

  it.each(["GITHUB_TOKEN", "GH_TOKEN", "KANBOT_RUNNER_TOKEN", "INNOCENT"])(
    "never passes %s, even as a credential or an explicit value",
    (name) => {
      const env = buildChildEnv({
        source,
        allow: [name],
        credentials: [name],
        set: { [name]: source[name as keyof typeof source] },
      });

      expect(env).not.toHaveProperty(name);
    },
  );

  it("lets explicit values win over the source", () => {
    const env = buildChildEnv({ source, set: { LANG: "en_US.UTF-8", FOO: "bar" } });

    expect(env.LANG).toBe("en_US.UTF-8");
    expect(env.FOO).toBe("bar");
  });
});

describe("isGitHubToken", () => {
  it.each([
    ["GITHUB_TOKEN", "x", true],
    ["GH_ENTERPRISE_TOKEN", "x", true],
    ["GITHUB_PAT_FOR_CI", "x", true],
    ["SOMETHING", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", true],
    ["SOMETHING", "ghu_abcdefghijklmnopqrstuvwxyz0123", true],
    ["GITHUB_REPOSITORY", "acme/widgets", false],
    ["PATH", "/usr/bin", false],
  ])("%s=%s -> %s", (name, value, expected) => {
    expect(isGitHubToken(name, value)).toBe(expected);
  });
});
