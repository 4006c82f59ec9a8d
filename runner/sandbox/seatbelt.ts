/**
 * macOS: a `sandbox-exec` (Seatbelt) profile with the intent of the Linux sandbox, generated from
 * paths. NOT RUN ON A MAC YET: it is generated and unit-tested here, and the runner does not use
 * it (`sandbox: auto` is unavailable on macOS until it has been run there; see probe.ts and
 * docs/security.md). What differs from bubblewrap by design:
 *
 * - Seatbelt filters access and cannot remap paths: HOME and TMPDIR must point at the job's own
 *   folders (`jobHome`, `jobTmp`), and the agent's per-task state folders are reached through
 *   symlinks made in `jobHome`;
 * - there is no PID namespace: what the job leaves behind is found through its process group only
 *   (macOS has no /proc to sweep), and `(target same-sandbox)` only keeps the sandbox from
 *   inspecting and signalling processes outside it.
 *
 * Rules are applied in order and a later matching rule wins: reads are allowed everywhere, then
 * denied under the hidden paths, then allowed again for what the job needs inside them.
 */

/** What one command may reach. */
export interface SeatbeltPolicy {
  /** Paths nothing inside may read or write: the runner's work directory, config and token files, homes, sockets. */
  hidden: readonly string[];
  /** Paths readable again inside hidden ones: the mirror, the agent's install, the prompt folder. */
  readable: readonly string[];
  /** Paths readable and writable: the worktree, the mirror's objects/refs/logs, the job's home and tmp, the agent's state. */
  writable: readonly string[];
  /** Whether the network is reachable; otherwise loopback only. */
  network: boolean;
}

/** The paths of one job, as the runner knows them on macOS. */
export interface SeatbeltJobPaths {
  home: string;
  workDir: string;
  configFile: string;
  tokenFile?: string;
  worktree: string;
  mirror: string;
  jobHome: string;
  jobTmp: string;
  promptDir?: string;
  /** Folders of the agent's install that lie in hidden places (install.ts). */
  installs: readonly string[];
  /** The agent's per-task state folders (outside; linked from `jobHome`). */
  stateFolders: readonly string[];
  network: boolean;
}

/** The policy for one job: the Linux sandbox's choices, in Seatbelt's terms. Pure. */
export function seatbeltPolicyFor(paths: SeatbeltJobPaths): SeatbeltPolicy {
  const configDir = parentOf(paths.configFile);
  return {
    hidden: unique([
      "/Users",
      "/var/root",
      paths.home,
      paths.workDir,
      configDir,
      paths.configFile,
      ...(paths.tokenFile === undefined ? [] : [paths.tokenFile, parentOf(paths.tokenFile)]),
      // Sockets of other programs (Docker, ssh-agent) and other users' temporary files.
      "/private/var/run",
      "/private/tmp",
      "/private/var/folders",
    ]),
    readable: unique([
      paths.mirror,
      ...paths.installs,
      ...(paths.promptDir ? [paths.promptDir] : []),
    ]),
    writable: unique([
      paths.worktree,
      `${paths.mirror}/objects`,
      `${paths.mirror}/refs`,
      `${paths.mirror}/logs`,
      `${paths.mirror}/worktrees`,
      paths.jobHome,
      paths.jobTmp,
      ...paths.stateFolders,
    ]),
    network: paths.network,
  };
}

/** The profile text for `sandbox-exec -p <profile> <command>`. Pure. */
export function seatbeltProfile(policy: SeatbeltPolicy): string {
  const subpaths = (paths: readonly string[]): string =>
    paths.map((path) => `(subpath ${quote(path)})`).join(" ");
  const lines = [
    "(version 1)",
    "(deny default)",
    ";; processes: start programs; see and signal only those of this sandbox",
    "(allow process-exec)",
    "(allow process-fork)",
    "(allow process-info* (target same-sandbox))",
    "(allow signal (target same-sandbox))",
    "(allow sysctl-read)",
    "(allow mach-lookup)",
    ";; no keychain: the runner user's stored passwords stay out of reach",
    '(deny mach-lookup (global-name "com.apple.SecurityServer"))',
    "(allow ipc-posix-shm)",
    "(allow ipc-posix-sem)",
    "(allow pseudo-tty)",
    "(allow file-ioctl)",
    ";; the system: readable",
    "(allow file-read*)",
  ];
  if (policy.hidden.length > 0) {
    lines.push(
      ";; the runner's own: hidden",
      `(deny file-read* file-write* ${subpaths(policy.hidden)})`,
    );
  }
  const readable = [...policy.readable, ...policy.writable];
  if (readable.length > 0) {
    lines.push(";; what the job needs inside them", `(allow file-read* ${subpaths(readable)})`);
  }
  if (policy.writable.length > 0) lines.push(`(allow file-write* ${subpaths(policy.writable)})`);
  lines.push(
    '(allow file-write* (literal "/dev/null") (literal "/dev/zero") (literal "/dev/tty") (literal "/dev/dtracehelper") (regex #"^/dev/ttys[0-9]+$"))',
  );
  if (policy.network) {
    lines.push(";; network: on", "(allow network*)");
  } else {
    lines.push(
      ";; network: loopback only",
      '(allow network* (local ip "localhost:*"))',
      '(allow network* (remote ip "localhost:*"))',
    );
  }
  return `${lines.join("\n")}\n`;
}

/** A Seatbelt string literal. */
function quote(path: string): string {
  if (/[\0\n\r]/.test(path))
    throw new RangeError(`a sandbox path cannot hold control characters: ${JSON.stringify(path)}`);
  return `"${path.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function parentOf(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths.filter((path) => path !== "" && path !== "/"))];
}
