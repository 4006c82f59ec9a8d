import { describe, expect, it } from "vitest";

import {
  bind,
  bwrapArgs,
  bwrapIsolationFlags,
  depth,
  isInside,
  planMounts,
  type Mount,
  type SandboxLayout,
} from "../../../runner/sandbox/plan.js";
import { parseConfigList, sandboxGitConfigText } from "../../../runner/sandbox/git-view.js";

const WORK = "/home/kanbot/.kanbot-runner/work";

function layout(overrides: Partial<SandboxLayout> = {}): SandboxLayout {
  return {
    home: "/home/kanbot",
    jobHome: `${WORK}/sandbox/7/home`,
    jobTmp: `${WORK}/sandbox/7/tmp`,
    emptyFile: `${WORK}/sandbox/7/empty`,
    hiddenDirs: ["/home", "/home/kanbot", WORK, "/home/kanbot/.config/kanbot", "/run"],
    hiddenFiles: ["/home/kanbot/.config/kanbot/kanbot-runner.yml"],
    runnerMounts: [bind(`${WORK}/worktrees/7`, `${WORK}/worktrees/7`, true)],
    configMounts: [],
    network: true,
    ...overrides,
  };
}

function indexOf(mounts: readonly Mount[], predicate: (mount: Mount) => boolean): number {
  const index = mounts.findIndex(predicate);
  expect(index, "mount not found").toBeGreaterThanOrEqual(0);
  return index;
}

describe("planMounts", () => {
  it("starts from the whole system read-only, then /dev, /proc and the job's /tmp", () => {
    const mounts = planMounts(layout());

    expect(mounts[0]).toEqual(bind("/", "/", false));
    expect(mounts).toContainEqual({ kind: "dev", dest: "/dev" });
    expect(mounts).toContainEqual({ kind: "proc", dest: "/proc" });
    expect(mounts).toContainEqual(bind(`${WORK}/sandbox/7/tmp`, "/tmp", true));
    expect(mounts).toContainEqual({ kind: "tmpfs", dest: "/var/tmp" });
  });

  it("applies shallow paths first, so the worktree lands on top of the hidden work directory", () => {
    const mounts = planMounts(layout());

    const hideWork = indexOf(mounts, (m) => m.kind === "hide" && m.dest === WORK);
    const worktree = indexOf(mounts, (m) => m.dest === `${WORK}/worktrees/7`);
    const hideHome = indexOf(mounts, (m) => m.kind === "hide" && m.dest === "/home/kanbot");
    const jobHome = indexOf(mounts, (m) => m.kind === "bind" && m.dest === "/home/kanbot");

    expect(hideHome).toBeLessThan(jobHome);
    expect(jobHome).toBeLessThan(hideWork);
    expect(hideWork).toBeLessThan(worktree);
    for (let i = 2; i < mounts.length; i++) {
      expect(depth((mounts[i] as Mount).dest)).toBeGreaterThanOrEqual(
        depth((mounts[i - 1] as Mount).dest),
      );
    }
  });

  it("covers the config file with an empty file, also when its folder is shown again", () => {
    const config = "/home/kanbot/.config/kanbot/kanbot-runner.yml";
    const mounts = planMounts(
      layout({
        configMounts: [bind("/home/kanbot/.config/kanbot", "/home/kanbot/.config/kanbot", false)],
      }),
    );

    const shown = indexOf(
      mounts,
      (m) => m.kind === "bind" && m.dest === "/home/kanbot/.config/kanbot",
    );
    const hidden = indexOf(
      mounts,
      (m) => m.dest === "/home/kanbot/.config/kanbot" && m.kind === "hide",
    );
    const file = indexOf(mounts, (m) => m.dest === config);

    // At the same depth the config's path comes first and the hiding after it.
    expect(shown).toBeLessThan(hidden);
    expect(hidden).toBeLessThan(file);
    expect(mounts[file]).toEqual(bind(`${WORK}/sandbox/7/empty`, config, false));
  });

  it("never lets a config path uncover the runner user's home: the job's home comes last", () => {
    const mounts = planMounts(
      layout({ configMounts: [bind("/home/kanbot", "/home/kanbot", false)] }),
    );

    const atHome = mounts.filter((m) => m.dest === "/home/kanbot");

    expect(atHome.at(-1)).toEqual(bind(`${WORK}/sandbox/7/home`, "/home/kanbot", true));
  });

  it("drops exact duplicates", () => {
    const mounts = planMounts(layout({ hiddenDirs: ["/run", "/run"] }));

    expect(mounts.filter((m) => m.dest === "/run")).toHaveLength(1);
  });
});

describe("bwrapArgs", () => {
  it("isolates PID, IPC, UTS and cgroup namespaces, drops capabilities, dies with the runner", () => {
    const args = bwrapArgs(layout(), {
      command: "/usr/bin/claude",
      args: ["-p"],
      cwd: `${WORK}/worktrees/7`,
    });

    for (const flag of [
      "--die-with-parent",
      "--new-session",
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-cgroup-try",
    ]) {
      expect(args).toContain(flag);
    }
    expect(args.join(" ")).toContain("--cap-drop ALL");
    expect(args).not.toContain("--unshare-net");
    expect(args.slice(-5)).toEqual([
      "--chdir",
      `${WORK}/worktrees/7`,
      "--",
      "/usr/bin/claude",
      "-p",
    ]);
  });

  it("cuts the network when the layout says so", () => {
    expect(bwrapIsolationFlags(false)).toContain("--unshare-net");
    expect(bwrapIsolationFlags(true)).not.toContain("--unshare-net");
  });

  it.each([
    [bind("/a", "/b", false), ["--ro-bind", "/a", "/b"]],
    [bind("/a", "/b", true), ["--bind", "/a", "/b"]],
    [bind("/a", "/b", false, true), ["--ro-bind-try", "/a", "/b"]],
    [bind("/a", "/b", true, true), ["--bind-try", "/a", "/b"]],
    [{ kind: "hide", dest: "/x" } as Mount, ["--perms", "0555", "--tmpfs", "/x"]],
    [{ kind: "tmpfs", dest: "/var/tmp" } as Mount, ["--perms", "1777", "--tmpfs", "/var/tmp"]],
  ])("renders %j", (mount, expected) => {
    const args = bwrapArgs(layout({ hiddenDirs: [], hiddenFiles: [], runnerMounts: [mount] }), {
      command: "true",
      args: [],
      cwd: "/",
    });

    expect(args.join(" ")).toContain(expected.join(" "));
  });
});

describe("paths", () => {
  it.each([
    ["/a/b", "/a", true],
    ["/a", "/a", true],
    ["/ab", "/a", false],
    ["/a/../b", "/a", false],
    ["/anything", "/", true],
  ])("isInside(%s, %s) is %s", (path, root, inside) => {
    expect(isInside(path, root)).toBe(inside);
  });

  it.each([
    ["/", 0],
    ["/a", 1],
    ["/a/b/", 2],
  ])("depth(%s) is %i", (path, expected) => {
    expect(depth(path)).toBe(expected);
  });
});

describe("the sandbox's copy of the mirror config", () => {
  it("keeps the repository format, drops the remote and everything else, adds identity and no gc", () => {
    const entries = parseConfigList(
      [
        "core.repositoryformatversion\n1",
        "core.bare\ntrue",
        "extensions.objectformat\nsha256",
        "remote.origin.url\nhttps://github.com/acme/app.git",
        "remote.origin.fetch\n+refs/heads/*:refs/remotes/origin/*",
        "core.hookspath\n/tmp/evil",
        "include.path\n/tmp/evil.cfg",
        "http.extraheader\nAuthorization: Basic a2JyX3NlY3JldA==",
        "",
      ].join("\0"),
    );

    const text = sandboxGitConfigText(entries, { name: "kanbot[bot]", email: "bot@example.com" });

    expect(text).toContain('repositoryformatversion = "1"');
    expect(text).toContain('objectformat = "sha256"');
    expect(text).toContain('name = "kanbot[bot]"');
    expect(text).toContain('[gc]\n\tauto = "0"');
    for (const dropped of ["remote", "github.com", "hookspath", "evil", "extraheader", "Basic"]) {
      expect(text).not.toContain(dropped);
    }
  });

  it("quotes values so that a crafted one cannot add a line", () => {
    const text = sandboxGitConfigText([["core.bare", 'true"\n[core]\n\thooksPath = /tmp/evil']], {
      name: "n",
      email: "e",
    });

    expect(text.split("\n").filter((line) => line.startsWith("["))).toEqual([
      "[core]",
      "[user]",
      "[gc]",
      "[maintenance]",
    ]);
  });
});
