// The macOS profile is generated and checked here; it has not been run on a Mac yet
// (docs/security.md#the-sandbox).
import { describe, expect, it } from "vitest";

import { seatbeltPolicyFor, seatbeltProfile } from "../../../runner/sandbox/seatbelt.js";

const paths = {
  home: "/Users/alice",
  workDir: "/Users/alice/.kanbot-runner/work",
  configFile: "/Users/alice/.config/kanbot/kanbot-runner.yml",
  tokenFile: "/Users/alice/.config/kanbot/token",
  worktree: "/Users/alice/.kanbot-runner/work/worktrees/7",
  mirror: "/Users/alice/.kanbot-runner/work/mirrors/acme/app.git",
  jobHome: "/Users/alice/.kanbot-runner/work/sandbox/7/home",
  jobTmp: "/Users/alice/.kanbot-runner/work/sandbox/7/tmp",
  promptDir: "/Users/alice/.kanbot-runner/work/prompts/7",
  installs: ["/Users/alice/.local/share/claude/versions"],
  stateFolders: ["/Users/alice/.kanbot-runner/work/agent-home/3/.claude"],
  network: true,
};

describe("seatbeltPolicyFor", () => {
  it("hides the runner's own places and opens the job's", () => {
    const policy = seatbeltPolicyFor(paths);

    expect(policy.hidden).toEqual(
      expect.arrayContaining([
        "/Users",
        paths.home,
        paths.workDir,
        "/Users/alice/.config/kanbot",
        paths.configFile,
        paths.tokenFile,
        "/private/var/run",
      ]),
    );
    expect(policy.readable).toEqual(
      expect.arrayContaining([paths.mirror, ...paths.installs, paths.promptDir]),
    );
    expect(policy.writable).toEqual(
      expect.arrayContaining([
        paths.worktree,
        `${paths.mirror}/objects`,
        `${paths.mirror}/refs`,
        paths.jobHome,
        paths.jobTmp,
        ...paths.stateFolders,
      ]),
    );
    expect(policy.writable).not.toContain(paths.mirror);
  });
});

describe("seatbeltProfile", () => {
  it("denies by default, then allows reads, denies the hidden, re-allows the job's, in that order", () => {
    const profile = seatbeltProfile(seatbeltPolicyFor(paths));
    const at = (text: string): number => profile.indexOf(text);

    expect(profile.startsWith("(version 1)\n(deny default)\n")).toBe(true);
    expect(at("(allow file-read*)")).toBeGreaterThan(0);
    expect(at("(deny file-read* file-write*")).toBeGreaterThan(at("(allow file-read*)"));
    expect(at(`(allow file-read* (subpath "${paths.mirror}")`)).toBeGreaterThan(
      at("(deny file-read* file-write*"),
    );
    expect(at("(allow file-write*")).toBeGreaterThan(at("(deny file-read* file-write*"));
    expect(profile).toContain("(allow signal (target same-sandbox))");
    expect(profile).toContain("(allow process-info* (target same-sandbox))");
    expect(profile).toContain('(deny mach-lookup (global-name "com.apple.SecurityServer"))');
    expect(profile).toContain("(allow network*)");
  });

  it("keeps only loopback when the network is off", () => {
    const profile = seatbeltProfile(seatbeltPolicyFor({ ...paths, network: false }));

    expect(profile).not.toContain("(allow network*)");
    expect(profile).toContain('(allow network* (remote ip "localhost:*"))');
  });

  it("escapes quotes and backslashes in paths, and refuses control characters", () => {
    const profile = seatbeltProfile({
      hidden: ['/Users/a"b\\c'],
      readable: [],
      writable: [],
      network: true,
    });

    expect(profile).toContain('(subpath "/Users/a\\"b\\\\c")');
    expect(() =>
      seatbeltProfile({
        hidden: ["/x\n(allow default)"],
        readable: [],
        writable: [],
        network: true,
      }),
    ).toThrow(RangeError);
  });
});
