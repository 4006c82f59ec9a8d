/**
 * What a sandboxed command sees, as an ordered list of mounts, and the bubblewrap command line
 * that makes it. Pure: paths in, mounts and argv out (the I/O that finds the paths is in
 * sandbox.ts and install.ts).
 *
 * The view starts from the whole system read-only (`/` bound read-only) and then takes away what
 * belongs to the runner. Why this and not an explicit list of system folders: agents and the
 * repository's commands need toolchains from anywhere (`/usr`, `/usr/local`, `/opt`, `/nix`,
 * `/snap`…) and an explicit list breaks them on every machine that differs; what must be
 * invisible is a short list the runner knows (its config, its work directory, the homes of the
 * machine's users, `/run` with its sockets), and for everything else the ordinary Unix
 * permissions of the runner's user still apply. docs/security.md lists what stays visible.
 *
 * Order matters: a mount covers whatever an earlier one put at or below its path. Mounts are
 * applied shallow paths first, so a folder made visible inside a hidden one (the worktree inside
 * the hidden work directory) lands on top of the hiding tmpfs. At the same depth the config's own
 * paths come first, then the hiding, then the runner's binds: a path from the config can never
 * uncover what the runner hides at the same place, and the job's private home always replaces
 * the runner user's home.
 */
import { normalize } from "node:path";

/** One mount of the sandbox's view. */
export type Mount =
  /** `source` (outside) shown at `dest`, read-only unless `writable`; `optional`: skipped when `source` is missing. */
  | { kind: "bind"; source: string; dest: string; writable: boolean; optional: boolean }
  /** An empty, read-only folder over `dest`: whatever was there is invisible. */
  | { kind: "hide"; dest: string }
  /** An empty, writable, sticky folder over `dest` (a private `/var/tmp`). */
  | { kind: "tmpfs"; dest: string }
  /** A minimal `/dev` (null, zero, random, tty, pts, shm). */
  | { kind: "dev"; dest: string }
  /** A `/proc` of the sandbox's own PID namespace. */
  | { kind: "proc"; dest: string };

/** The paths that make up one command's view. */
export interface SandboxLayout {
  /** HOME inside the sandbox: the runner user's home path, where the job's private home is mounted. */
  home: string;
  /** The job's private, initially empty home folder (outside), mounted at `home`. */
  jobHome: string;
  /** The job's private temporary folder (outside), mounted at `/tmp`. */
  jobTmp: string;
  /** An empty file, laid over each hidden file. */
  emptyFile: string;
  /** Folders hidden whole: the runner's work directory, its config folder, users' homes, `/run`. */
  hiddenDirs: readonly string[];
  /** Files hidden one by one: the config file and the token file (also when their folder is a system folder). */
  hiddenFiles: readonly string[];
  /** The runner's own mounts on top: the worktree, the mirror's parts, installs, the prompt. */
  runnerMounts: readonly Mount[];
  /** Paths from the config (`sandboxReadOnly`, `sandboxWritable`). */
  configMounts: readonly Mount[];
  /** Whether the sandbox shares the machine's network (else: only its own loopback). */
  network: boolean;
}

type Layer = "config" | "hide" | "runner";
const LAYER_ORDER: Record<Layer, number> = { config: 0, hide: 1, runner: 2 };

/** The mounts of a layout, in the order bubblewrap must apply them. */
export function planMounts(layout: SandboxLayout): Mount[] {
  const entries: { mount: Mount; layer: Layer }[] = [];
  const add = (layer: Layer, mount: Mount): void => {
    entries.push({ mount: { ...mount, dest: clean(mount.dest) }, layer });
  };

  add("runner", { kind: "dev", dest: "/dev" });
  add("runner", { kind: "proc", dest: "/proc" });
  add("runner", bind(layout.jobTmp, "/tmp", true));
  add("runner", { kind: "tmpfs", dest: "/var/tmp" });
  for (const dir of layout.hiddenDirs) add("hide", { kind: "hide", dest: dir });
  for (const file of layout.hiddenFiles) add("hide", bind(layout.emptyFile, file, false));
  add("runner", bind(layout.jobHome, layout.home, true));
  for (const mount of layout.runnerMounts) add("runner", mount);
  for (const mount of layout.configMounts) add("config", mount);

  const ordered = entries
    .map((entry, index) => ({ ...entry, index }))
    .sort(
      (a, b) =>
        depth(a.mount.dest) - depth(b.mount.dest) ||
        LAYER_ORDER[a.layer] - LAYER_ORDER[b.layer] ||
        a.index - b.index,
    );
  const seen = new Set<string>();
  const mounts: Mount[] = [
    { kind: "bind", source: "/", dest: "/", writable: false, optional: false },
  ];
  for (const { mount } of ordered) {
    const key = JSON.stringify(mount);
    if (seen.has(key)) continue;
    seen.add(key);
    mounts.push(mount);
  }
  return mounts;
}

/** A bind of `source` at `dest`. */
export function bind(source: string, dest: string, writable: boolean, optional = false): Mount {
  return { kind: "bind", source: clean(source), dest: clean(dest), writable, optional };
}

/** The options that make bubblewrap's isolation, before the mounts. */
export function bwrapIsolationFlags(network: boolean): string[] {
  return [
    // The sandbox dies with the runner, and with the command it started: when that command
    // exits, bwrap exits, and its PID-namespace init is killed with everything in the namespace.
    "--die-with-parent",
    // A new session: no controlling terminal to inject input into (TIOCSTI).
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(network ? [] : ["--unshare-net"]),
    // No capabilities inside, also when the runner runs as root (root keeps them by default, and
    // could then unmount what hides the runner's files).
    "--cap-drop",
    "ALL",
  ];
}

/** bubblewrap options for `mounts` (in order) and the working directory. */
export function bwrapMountArgs(mounts: readonly Mount[]): string[] {
  const args: string[] = [];
  for (const mount of mounts) {
    switch (mount.kind) {
      case "bind": {
        const flag = `--${mount.writable ? "bind" : "ro-bind"}${mount.optional ? "-try" : ""}`;
        args.push(flag, mount.source, mount.dest);
        break;
      }
      case "hide":
        args.push("--perms", "0555", "--tmpfs", mount.dest);
        break;
      case "tmpfs":
        args.push("--perms", "1777", "--tmpfs", mount.dest);
        break;
      case "dev":
        args.push("--dev", mount.dest);
        break;
      case "proc":
        args.push("--proc", mount.dest);
        break;
    }
  }
  return args;
}

/** The whole bubblewrap argv (without the program itself) that runs `command` in the layout. */
export function bwrapArgs(
  layout: SandboxLayout,
  command: { command: string; args: readonly string[]; cwd: string },
): string[] {
  return [
    ...bwrapIsolationFlags(layout.network),
    ...bwrapMountArgs(planMounts(layout)),
    "--chdir",
    command.cwd,
    "--",
    command.command,
    ...command.args,
  ];
}

/** Whether `path` is `root` or inside it (both absolute). */
export function isInside(path: string, root: string): boolean {
  const p = clean(path);
  const r = clean(root);
  return r === "/" || p === r || p.startsWith(`${r}/`);
}

/** The number of segments of an absolute path (`/` is 0). */
export function depth(path: string): number {
  const p = clean(path);
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** An absolute path without `.`, `..`, doubled or trailing slashes. */
export function clean(path: string): string {
  const normalized = normalize(path);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}
