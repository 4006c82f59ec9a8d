/**
 * The runner's sandbox: every command of a job (setup, the agent, validation) runs inside
 * bubblewrap with the view planned in plan.ts. Per job:
 *
 * 1. `forJob` makes the job's private folders, `<workDir>/sandbox/<job>/{home,tmp}`, and the
 *    per-task folders of the agent's state that must outlive one job (`~/.claude` for `--resume`):
 *    `<workDir>/agent-home/<task>/<folder>`, never the runner user's own;
 * 2. `wrap` turns each command line into a bwrap command line: it finds the program (and, when it
 *    is installed somewhere the sandbox hides, shows its install read-only), shows the worktree
 *    read-write and the parts of the mirror git needs (git-view.ts), the job's prompt folder
 *    read-only, sets HOME and TMPDIR to the private ones;
 * 3. `dispose` removes the job's private folders.
 *
 * Hidden: the runner's work directory (other worktrees, mirrors, prompts, job records), its
 * config file and folder, the token file and folder, every user's home (`/home`, `/root`, the
 * runner's `$HOME`), `/run` (sockets of the desktop, Docker, ssh-agent…); `/tmp` and `/var/tmp`
 * are the job's own. With `sandbox: none` there is no sandbox and `wrap` is never called.
 */
import { constants } from "node:fs";
import {
  access,
  chmod,
  lstat,
  mkdir,
  readdir,
  realpath,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";

import type { Logger } from "pino";

import { SpawnError } from "../process/errors.js";
import { SandboxConfigError } from "./errors.js";
import { gitViewMounts, pathForms, type CommitIdentity } from "./git-view.js";
import { findExecutable, installFolders } from "./install.js";
import { bind, bwrapArgs, clean, isInside, type Mount, type SandboxLayout } from "./plan.js";
import type { SandboxState } from "./probe.js";
import type { CommandLine, CommandSandbox, WrappedCommand } from "./types.js";

/**
 * Folders (relative to HOME) where each agent CLI keeps what a later round or job of the same
 * task needs: its sessions, for `--resume`.
 */
export const AGENT_STATE_FOLDERS: Readonly<Record<string, readonly string[]>> = {
  claude: [".claude"],
  codex: [".codex"],
  gemini: [".gemini"],
  opencode: [".local/share/opencode"],
  aider: [],
};

/**
 * Folders never hidden whole because the system lives there: when the config file sits directly
 * in one of them, only the file itself is hidden.
 */
const SYSTEM_FOLDERS = new Set([
  "/",
  "/bin",
  "/boot",
  "/etc",
  "/lib",
  "/lib64",
  "/media",
  "/mnt",
  "/nix",
  "/opt",
  "/sbin",
  "/snap",
  "/srv",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/local",
  "/usr/local/bin",
  "/usr/local/etc",
  "/usr/share",
  "/var",
  "/var/lib",
]);

/** Variables pointing into the runner user's folders: unset inside, so tools use the private HOME. */
const UNSET_INSIDE = [
  "XDG_CONFIG_HOME",
  "XDG_CACHE_HOME",
  "XDG_DATA_HOME",
  "XDG_STATE_HOME",
  "XDG_RUNTIME_DIR",
];

const DEFAULT_IDENTITY: CommitIdentity = {
  name: "kanbot[bot]",
  email: "kanbot[bot]@users.noreply.github.com",
};

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface SandboxOptions {
  /** The probe's answer (probe.ts): bubblewrap, or none. */
  state: Extract<SandboxState, { kind: "bwrap" } | { kind: "none" }>;
  /** The runner's work directory (hidden; the job's parts are shown). */
  workDir: string;
  /** The runner's config file (hidden, with its folder). */
  configFile: string;
  /** The runner's token file, when it has one (hidden, with its folder). */
  tokenFile?: string;
  /** `sandboxReadOnly` and `sandboxWritable` from the config, absolute. */
  paths?: { readOnly: readonly string[]; writable: readonly string[] };
  /** The runner user's home (`$HOME`). Default `os.homedir()`. */
  home?: string;
  /** Who the agent's commits are by. Default kanbot[bot]. */
  identity?: CommitIdentity;
  log?: Logger;
}

/** One job's commands and where they run. */
export interface SandboxJob {
  /** The job id (a folder name). */
  jobId: string;
  /** The task id (a folder name): the agent's state folders are kept per task. */
  taskId: string;
  /** The agent's adapter (`claude`, `codex`…), for its state folders. */
  agentKind?: string;
  /** The job's worktree (shown read-write). */
  worktree: string;
  /** The job's mirror (the parts git needs are shown). */
  mirror: string;
  /** The folder of the job's prompt files (shown read-only). */
  promptDir?: string;
}

export interface Sandbox {
  readonly state: SandboxOptions["state"];
  /** Makes one job's private folders; its `commands` wrap every command the job runs. */
  forJob(job: SandboxJob): Promise<JobSandbox>;
}

export interface JobSandbox {
  /** What run-command wraps the job's commands with; undefined without a sandbox. */
  readonly commands: CommandSandbox | undefined;
  /**
   * Where the agent's per-task state folders (`.claude`, `.codex`…) are, as the runner sees them:
   * `<workDir>/agent-home/<task>`; undefined without a sandbox (the agent uses HOME's own).
   */
  readonly stateHome?: string;
  /** Removes the job's private folders (HOME, /tmp). */
  dispose(): Promise<void>;
}

/** The sandbox of a runner; throws {@link SandboxConfigError} for a path it refuses to show. */
export function createSandbox(options: SandboxOptions): Sandbox {
  const state = options.state;
  const workDir = clean(options.workDir);
  const paths = options.paths ?? { readOnly: [], writable: [] };
  for (const path of [...paths.readOnly, ...paths.writable]) {
    if (isInside(path, workDir)) {
      throw new SandboxConfigError(path, `it is inside the runner's work directory ${workDir}`);
    }
  }
  // A writable folder holding the runner's files would let an agent move or replace them.
  for (const path of paths.writable) {
    for (const own of [workDir, options.configFile, options.tokenFile]) {
      if (own !== undefined && isInside(own, path)) {
        throw new SandboxConfigError(
          path,
          `it holds the runner's own ${own}, and would be writable`,
        );
      }
    }
  }
  if (state.kind === "none") {
    return {
      state,
      forJob: async () => ({ commands: undefined, dispose: async () => undefined }),
    };
  }
  const bwrap = state.bwrap;
  const network = state.network;
  const identity = options.identity ?? DEFAULT_IDENTITY;
  const home = clean(options.home ?? homedir());

  async function forJob(job: SandboxJob): Promise<JobSandbox> {
    checkId(job.jobId, "job id");
    checkId(job.taskId, "task id");
    const jobDir = join(workDir, "sandbox", job.jobId);
    const jobHome = join(jobDir, "home");
    const jobTmp = join(jobDir, "tmp");
    const emptyFile = join(jobDir, "empty");
    const configCopy = join(jobDir, "git-config");
    await removeTree(jobDir);
    await mkdir(jobHome, { recursive: true, mode: 0o700 });
    await mkdir(jobTmp, { recursive: true, mode: 0o700 });
    await writeFile(emptyFile, "", { mode: 0o444 });

    // Where HOME is inside: the runner user's home path, covered by the job's own folder, so tools
    // that take the home from the user database land there too.
    const homeDest = (await isUsableHome(home)) ? home : "/tmp/.home";

    // What the runner hides (only what exists: bwrap cannot cover a missing path in a read-only view).
    const hiddenDirs: string[] = [];
    const hide = async (path: string | undefined): Promise<void> => {
      if (path === undefined) return;
      for (const form of await pathForms(path)) {
        if ((await isDirectory(form)) && !hiddenDirs.includes(form)) hiddenDirs.push(form);
      }
    };
    for (const path of ["/home", "/root", home, workDir, "/run"]) await hide(path);
    if ((await lstat("/var/run").catch(() => undefined))?.isDirectory()) await hide("/var/run");
    for (const file of [options.configFile, options.tokenFile]) {
      if (file !== undefined && !SYSTEM_FOLDERS.has(clean(dirname(file)))) {
        await hide(dirname(file));
      }
    }
    const hiddenFiles: string[] = [];
    for (const file of [options.configFile, options.tokenFile]) {
      if (file === undefined) continue;
      for (const form of await pathForms(file)) {
        if (await isFile(form)) hiddenFiles.push(form);
      }
    }
    // Places whose content the sandbox does not show (hidden, or replaced by the job's own).
    const unseen = [...hiddenDirs, "/tmp", "/var/tmp"];

    // Always there: DNS when /etc/resolv.conf points into /run, the agent's state per task.
    const fixed: Mount[] = [];
    const resolv = await realpath("/etc/resolv.conf").catch(() => undefined);
    if (resolv !== undefined && unseen.some((root) => isInside(resolv, root))) {
      fixed.push(bind(dirname(resolv), dirname(resolv), false, true));
    }
    const taskHome = join(workDir, "agent-home", job.taskId);
    for (const folder of AGENT_STATE_FOLDERS[job.agentKind ?? ""] ?? []) {
      const source = join(taskHome, folder);
      await mkdir(source, { recursive: true, mode: 0o700 });
      fixed.push(bind(source, join(homeDest, folder), true));
    }
    if (await isDirectory(taskHome)) {
      const now = new Date();
      await utimes(taskHome, now, now).catch(() => undefined);
    }
    const configMounts: Mount[] = [];
    for (const [list, writable] of [
      [paths.readOnly, false],
      [paths.writable, true],
    ] as const) {
      for (const path of list) {
        if (await isReachable(path)) {
          configMounts.push(...(await bindForms(path, writable, true)));
        } else {
          options.log?.warn({ path }, "a sandbox path of the config is missing or unreadable");
        }
      }
    }

    async function wrap(line: CommandLine): Promise<WrappedCommand> {
      const pathEnv = line.env.PATH ?? "";
      const program = await findExecutable(line.command, pathEnv, line.cwd);
      if (program === undefined) {
        throw new SpawnError(line.command, "ENOENT", new Error(`${line.command} is not on PATH`));
      }
      const mounts: Mount[] = [...fixed];
      // The program's install, and PATH folders, where the sandbox would hide them.
      const shown = new Set<string>();
      const show = async (folder: string): Promise<void> => {
        if (shown.has(folder) || !unseen.some((root) => isInside(folder, root))) return;
        // Never the work directory; never what this user cannot read (bwrap would fail on it).
        if (isInside(folder, workDir) || !(await isReachable(folder))) return;
        shown.add(folder);
        mounts.push(...(await bindForms(folder, false, true)));
      };
      for (const folder of await installFolders(program, pathEnv)) await show(folder);
      for (const folder of pathEnv.split(delimiter)) {
        if (folder.startsWith("/")) await show(clean(folder));
      }
      // The job's own: git's view of the mirror, the worktree, the prompt.
      mounts.push(
        ...(await gitViewMounts({
          mirror: job.mirror,
          worktree: job.worktree,
          configCopy,
          identity,
          pathEnv,
        })),
      );
      mounts.push(...(await bindForms(job.worktree, true, false)));
      if (job.promptDir !== undefined)
        mounts.push(...(await bindForms(job.promptDir, false, true)));

      const layout: SandboxLayout = {
        home: homeDest,
        jobHome,
        jobTmp,
        emptyFile,
        hiddenDirs,
        hiddenFiles,
        runnerMounts: mounts,
        configMounts,
        network,
      };
      options.log?.debug(
        { jobId: job.jobId, program, mounts: mounts.length },
        "command wrapped in the sandbox",
      );
      const env: Record<string, string> = { ...line.env, HOME: homeDest, TMPDIR: "/tmp" };
      for (const name of UNSET_INSIDE) delete env[name];
      return {
        command: bwrap,
        args: bwrapArgs(layout, { command: program, args: line.args, cwd: line.cwd }),
        cwd: line.cwd,
        env,
        supervised: true,
      };
    }

    return {
      commands: { wrap },
      stateHome: taskHome,
      dispose: () => removeTree(jobDir),
    };
  }

  return { state, forJob };
}

/**
 * Removes what the sandbox folders of earlier runs left (a crash), and the agents' per-task state
 * folders nobody used for `maxAgeMs`. Call it when no job runs.
 */
export async function sweepSandboxFolders(
  workDir: string,
  options: { now: number; maxAgeMs: number },
): Promise<{ agentHomesRemoved: string[] }> {
  await removeTree(join(workDir, "sandbox"));
  const removed: string[] = [];
  const homes = join(workDir, "agent-home");
  for (const name of await readdir(homes).catch(() => [] as string[])) {
    const folder = join(homes, name);
    const info = await stat(folder).catch(() => undefined);
    if (info === undefined || options.now - info.mtimeMs < options.maxAgeMs) continue;
    await removeTree(folder);
    removed.push(name);
  }
  return { agentHomesRemoved: removed };
}

/** A bind of `path` at each of its forms (as given, and real); its source is the real path. */
async function bindForms(path: string, writable: boolean, optional: boolean): Promise<Mount[]> {
  const forms = await pathForms(path);
  const source = forms[forms.length - 1] as string;
  return forms.map((dest) => bind(source, dest, writable, optional));
}

/** Removes a folder, also when something inside took away its own write permission. */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function makeWritable(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return;
  await chmod(path, 0o700).catch(() => undefined);
  for (const name of await readdir(path).catch(() => [] as string[])) {
    await makeWritable(join(path, name));
  }
}

/** Whether this user can read `path` (and enter it, for a folder). */
async function isReachable(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return false;
  const mode = info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK;
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

async function isUsableHome(path: string): Promise<boolean> {
  return path !== "/" && !SYSTEM_FOLDERS.has(path) && (await isDirectory(path));
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

function checkId(id: string, what: string): void {
  if (!SAFE_ID.test(id)) {
    throw new RangeError(`${what} "${id}" cannot name a folder (letters, digits, ".", "-", "_")`);
  }
}
