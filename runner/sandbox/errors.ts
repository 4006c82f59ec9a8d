/** Named errors of the sandbox. */

/** The configured sandbox cannot start on this machine; the runner refuses to run agents. */
export class SandboxUnavailableError extends Error {
  override name = "SandboxUnavailableError";
  constructor(
    /** Why, in the words of the probe (bubblewrap's own error where there is one). */
    readonly reason: string,
  ) {
    super(
      `the sandbox cannot start on this machine: ${reason}. kanbot-runner runs no agent without it; install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user namespaces (docs/security.md#the-sandbox), or set \`sandbox: none\` in kanbot-runner.yml to run agents unsandboxed, where they can read the runner's token`,
    );
  }
}

/** A path in `sandboxReadOnly` or `sandboxWritable` that the sandbox refuses to show. */
export class SandboxConfigError extends Error {
  override name = "SandboxConfigError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `kanbot-runner.yml: ${path} cannot be shown in the sandbox: ${reason}; remove it from sandboxReadOnly/sandboxWritable`,
    );
  }
}
