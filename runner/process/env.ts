/**
 * The environment a child process (an agent, a setup or validation command) gets: an allowlist,
 * never the runner's whole environment (DESIGN section 7: "The agent process never sees any GitHub
 * token: its environment is an allowlist").
 */

/** Variables every child gets when the runner has them: enough for tools to work, nothing more. */
export const BASE_ENV_ALLOWLIST = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TERM",
  "TZ",
  "TMPDIR",
  "NO_COLOR",
  "XDG_CONFIG_HOME",
  "XDG_CACHE_HOME",
  "XDG_DATA_HOME",
  "XDG_STATE_HOME",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
] as const;

/** The variable that marks every process of one job, so a sweep can find those that escaped. */
export const JOB_MARKER_VARIABLE = "KANBOT_JOB_ID";

/**
 * Names that look like they hold a credential. A variable with such a name is dropped even when
 * it is on the allowlist, unless it is named in `credentials` (an agent's own API key).
 */
const SECRET_NAME =
  /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|API_KEY|APIKEY|AUTH/i;

/** GitHub's token variables: dropped always, whatever the configuration says. */
const GITHUB_TOKEN_NAME = /^(GITHUB_|GH_|KANBOT_)\w*(TOKEN|PAT|KEY|SECRET)\w*$|^GITHUB_PAT\w*$/i;

/** GitHub token values (classic, fine-grained, app installation, OAuth, refresh). */
const GITHUB_TOKEN_VALUE = /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/;

export interface ChildEnvOptions {
  /** The environment to pick from (the runner's `process.env`). */
  source: Readonly<Record<string, string | undefined>>;
  /** Names to pass through besides {@link BASE_ENV_ALLOWLIST} (an agent's configuration). */
  allow?: readonly string[];
  /**
   * Credential names the agent needs (`ANTHROPIC_API_KEY`, `CLAUDE_CODE_OAUTH_TOKEN`): passed
   * through although their names look secret. GitHub token names are refused even here.
   */
  credentials?: readonly string[];
  /** Values set explicitly (they win over `source`); GitHub tokens are refused here too. */
  set?: Readonly<Record<string, string>>;
  /** The job id, written to {@link JOB_MARKER_VARIABLE} so escaped descendants can be found. */
  jobId?: string;
}

/** Whether a variable name looks like it holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Whether a variable must never reach a child: a GitHub token by name or by value. */
export function isGitHubToken(name: string, value: string): boolean {
  return GITHUB_TOKEN_NAME.test(name) || GITHUB_TOKEN_VALUE.test(value);
}

/**
 * Builds a child's environment from an allowlist. Names are matched exactly; a name that looks
 * secret is dropped unless it is listed in `credentials`; a GitHub token (by name or by value) is
 * always dropped. The job marker is always set when `jobId` is given.
 */
export function buildChildEnv(options: ChildEnvOptions): Record<string, string> {
  const credentials = new Set(options.credentials ?? []);
  const names = new Set<string>([...BASE_ENV_ALLOWLIST, ...(options.allow ?? []), ...credentials]);
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = options.source[name];
    if (value === undefined) continue;
    if (!mayPass(name, value, credentials)) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(options.set ?? {})) {
    if (isGitHubToken(name, value)) continue;
    env[name] = value;
  }
  if (options.jobId !== undefined) env[JOB_MARKER_VARIABLE] = options.jobId;
  return env;
}

function mayPass(name: string, value: string, credentials: ReadonlySet<string>): boolean {
  if (isGitHubToken(name, value)) return false;
  if (isSecretName(name) && !credentials.has(name)) return false;
  return true;
}
