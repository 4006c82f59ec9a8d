/**
 * Running git for the runner: a hermetic environment, hardening flags on every command, the job's
 * token only in the environment of the commands that talk to the remote, errors that keep the
 * command, exit code and stderr, and retries when another git process holds a lock.
 *
 * Why execa and not simple-git (STYLE.md prefers simple-git): the token travels as
 * `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0`, which simple-git's unsafe-operation
 * guard refuses unless switched off, and simple-git's errors drop the exit code. A thin wrapper
 * over execa (shell: false, extendEnv: false) is simpler than configuring around both.
 */
import { execa } from "execa";

import { redactText } from "../process/redact.js";
import { GitError, type GitFailureKind } from "./errors.js";

/** Who kanbot's commits are by. */
export interface GitIdentity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: GitIdentity = {
  name: "kanbot[bot]",
  email: "kanbot[bot]@users.noreply.github.com",
};

/** A graft file that cannot exist (see {@link gitEnv}). */
export const NO_GRAFT_FILE = "/dev/null/grafts";

/** Variables a git child may take from the runner's environment: finding git, proxies, CAs. */
const GIT_ENV_PASS_THROUGH = [
  "PATH",
  "HOME",
  "TMPDIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "GIT_SSL_CAINFO",
  "GIT_SSL_CAPATH",
] as const;

export interface GitEnvOptions {
  /** Where PATH, HOME and proxy settings come from. Default `process.env`. */
  source?: NodeJS.ProcessEnv;
  /**
   * The global git config file. Default `/dev/null`: a workstation's `~/.gitconfig` (an
   * `insteadOf` rewriting https to ssh, a credential helper, hooks) must not change what the
   * runner's git does.
   */
  configGlobal?: string;
}

/**
 * The environment of every git command the runner runs: built from nothing (never the runner's
 * whole environment), C.UTF-8 messages, no prompts, no system or global config, and no history
 * rewriting: `GIT_NO_REPLACE_OBJECTS` makes git ignore `refs/replace/*` and `GIT_GRAFT_FILE`
 * points the graft file away from `<common dir>/info/grafts` (git 2.39 reads grafts even with
 * replace objects off). The graft path is `/dev/null/grafts`: opening it fails with ENOTDIR, which
 * git ignores silently, and no one can create it; `/dev/null` itself would work but makes git
 * print its "grafts are deprecated" hint on every command. Checked by
 * test/integration/workspace/git-hardening.test.ts. Both are
 * in the environment, not only flags, so the git programs git starts (`pack-objects`,
 * `remote-http`) inherit them.
 */
export function gitEnv(options: GitEnvOptions = {}): Record<string, string> {
  const source = options.source ?? process.env;
  const env: Record<string, string> = {};
  for (const name of GIT_ENV_PASS_THROUGH) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    ...env,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    GCM_INTERACTIVE: "never",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: options.configGlobal ?? "/dev/null",
    GIT_NO_REPLACE_OBJECTS: "1",
    GIT_GRAFT_FILE: NO_GRAFT_FILE,
  };
}

/** Author and committer variables for commits made as `identity`. */
export function identityEnv(identity: GitIdentity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

/**
 * The job's token as git configuration passed through the environment (git >= 2.31): an
 * `Authorization` header sent only to URLs under `remoteUrl`. Nothing is written to a file, and
 * the header stays off any other host an `insteadOf` or a redirect could lead to. Give this only
 * to fetch and push.
 *
 * Why the environment and not `-c http.extraHeader=...` or an askpass program: a command line is
 * readable by every user of the machine (`/proc/<pid>/cmdline`, `ps`); an environment only by the
 * same user and root (`/proc/<pid>/environ`, ptrace rules), and an askpass program would put the
 * token in a pipe or file of the same user's reach anyway. What keeps it from the agent is that
 * these commands run only while no process of the job is alive (`beforeTokenGit`, and the
 * sandbox's PID namespace hides the runner's processes while one is).
 */
export function gitAuthEnv(token: string, remoteUrl: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`, "utf8").toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `http.${remoteUrl}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/**
 * Flags in front of every git command. The repository's config and hooks are writable by the
 * agent (a worktree shares its mirror's config), so the runner's own git runs no hook, no
 * fsmonitor, no credential helper and no signing program from there.
 */
export const HARDENING_FLAGS: readonly string[] = [
  // Replace refs are ignored (also in the environment, see gitEnv), and the commit-graph file,
  // which the agent can write and git trusts for parents and root trees, is not read.
  "--no-replace-objects",
  "-c",
  "core.commitGraph=false",
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "credential.helper=",
  "-c",
  "commit.gpgSign=false",
  "-c",
  "tag.gpgSign=false",
  "-c",
  "protocol.ext.allow=never",
];

export interface RunGitOptions {
  /** Arguments after `git` (and after the hardening flags). */
  args: readonly string[];
  cwd: string;
  /** The complete environment (start from {@link gitEnv}). */
  env: Readonly<Record<string, string>>;
  /** Values to redact from stderr kept in errors (the token). */
  secrets?: readonly string[];
  /** Exit codes that are answers rather than failures (e.g. 1 for `diff --quiet`). */
  okExitCodes?: readonly number[];
  signal?: AbortSignal;
  /** Kill git after this long (network commands). */
  timeoutMs?: number;
  /** Written to git's standard input (`cat-file --batch`, `update-ref --stdin`). */
  input?: string;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs git; throws {@link GitError} on a failure not listed in `okExitCodes`. */
export async function runGit(options: RunGitOptions): Promise<GitResult> {
  const result = await spawnGit(options, "utf8");
  return { ...result, stdout: result.stdout.toString("utf8") };
}

/** Like {@link runGit}, with standard output as bytes (object contents). */
export async function runGitBytes(
  options: RunGitOptions,
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  return spawnGit(options, "buffer");
}

async function spawnGit(
  options: RunGitOptions,
  encoding: "utf8" | "buffer",
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const secrets = options.secrets ?? [];
  const cmd = `git ${options.args.join(" ")}`;
  const result = await execa("git", [...HARDENING_FLAGS, ...options.args], {
    cwd: options.cwd,
    env: { ...options.env },
    extendEnv: false,
    shell: false,
    reject: false,
    windowsHide: true,
    stripFinalNewline: encoding === "utf8",
    ...(encoding === "buffer" ? { encoding: "buffer" as const } : {}),
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
  const stdout = toBuffer(result.stdout);
  const stderr = redactText(toBuffer(result.stderr).toString("utf8").trimEnd(), secrets);
  const exitCode = result.exitCode;
  if (exitCode !== undefined && (exitCode === 0 || options.okExitCodes?.includes(exitCode))) {
    return { stdout, stderr, exitCode };
  }
  const why =
    exitCode === undefined
      ? redactText(
          result.cause instanceof Error ? result.cause.message : String(result.cause),
          secrets,
        )
      : stderr;
  throw new GitError(
    { cmd, exitCode: exitCode ?? null, stderr: tail(why), kind: classifyGitFailure(why) },
    { cause: exitCode === undefined ? result.cause : undefined },
  );
}

function toBuffer(value: unknown): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  return Buffer.alloc(0);
}

const LOCK_PATTERNS = [
  /Unable to create '[^']*\.lock'/i,
  /\.lock': File exists/i,
  /could not lock config file/i,
  /cannot lock ref/i,
  /Another git process seems to be running/i,
  /locked working tree/i,
  /is locked/i,
];
const AUTH_PATTERNS = [
  /Authentication failed/i,
  /could not read (Username|Password)/i,
  /terminal prompts disabled/i,
  /returned error: 40[13]/i,
  /HTTP 40[13]/i,
  /Invalid username or password/i,
  /Permission to \S+ denied/i,
];
const REJECTED_PATTERNS = [
  /\[rejected\]/,
  /\[remote rejected\]/,
  /stale info/i,
  /non-fast-forward/i,
  /failed to push some refs/i,
];
const NOT_FOUND_PATTERNS = [
  /Repository not found/i,
  /returned error: 404/i,
  /couldn't find remote ref/i,
  /does not appear to be a git repository/i,
];

/** Which kind of failure git's stderr describes (order matters: a rejected push may mention a lock). */
export function classifyGitFailure(stderr: string): GitFailureKind {
  if (AUTH_PATTERNS.some((pattern) => pattern.test(stderr))) return "auth";
  if (REJECTED_PATTERNS.some((pattern) => pattern.test(stderr))) return "rejected";
  if (NOT_FOUND_PATTERNS.some((pattern) => pattern.test(stderr))) return "not-found";
  if (LOCK_PATTERNS.some((pattern) => pattern.test(stderr))) return "lock";
  return "other";
}

export interface LockRetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay before the first retry; doubles each time, with jitter. */
  baseDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Called before each retry (logging; tests use it to release the lock). */
  onRetry?: (error: GitError, attempt: number) => void | Promise<void>;
}

export const DEFAULT_LOCK_RETRY: Omit<LockRetryPolicy, "sleep"> = {
  attempts: 6,
  baseDelayMs: 100,
};

/**
 * Runs `operation` again while it fails because another git process holds a lock: git's own
 * locks are what serialise the runner with other processes (a second runner, a person running git
 * in a kept worktree).
 */
export async function retryOnLock<T>(
  operation: () => Promise<T>,
  policy: LockRetryPolicy,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof GitError) || error.kind !== "lock" || attempt >= policy.attempts) {
        throw error;
      }
      await policy.onRetry?.(error, attempt);
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      await policy.sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-20).join("\n");
}
