/**
 * `kanbot runners add|list|remove`: the admin side of runner registration (DESIGN section 4).
 * `add` prints a one-time registration token, `list` shows the registered runners, `remove`
 * revokes one (its token stops working at once; jobs it holds end when their leases expire).
 */
import { RunnerName } from "../protocol/index.js";
import type { JobStore, Runner } from "../store/index.js";

export interface AdminIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface RunnersCommandOptions {
  /** How long a registration token stays valid (KANBOT_REGISTRATION_TOKEN_TTL_SECONDS × 1000). */
  registrationTokenTtlMs: number;
  /** The URL runners reach the app at (`publicUrl(settings)`), printed in the instructions. */
  publicUrl: string;
  /** Who ran the command, for the audit log. Default `admin`. */
  actor?: string;
  /** The clock used for "last seen" ages. Default: the system clock. */
  now?: () => Date;
}

export const RUNNERS_USAGE = `Usage: kanbot runners <command>

Commands:
  add <name>            print a one-time token that registers a runner called <name>
  list [--json]         show the registered runners
  remove <name|id>      revoke a runner: its token stops working at once
`;

/** Runs `kanbot runners …` (argv after `runners`); returns the exit code (2 for usage errors). */
export async function runnersCommand(
  argv: readonly string[],
  store: JobStore,
  io: AdminIo,
  options: RunnersCommandOptions,
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "add":
      return addRunner(rest, store, io, options);
    case "list":
      return listRunners(rest, store, io, options);
    case "remove":
      return removeRunner(rest, store, io, options);
    case "-h":
    case "--help":
    case "help":
      io.stdout.write(RUNNERS_USAGE);
      return 0;
    default:
      io.stderr.write(
        command === undefined
          ? RUNNERS_USAGE
          : `kanbot runners: unknown command "${command}"\n\n${RUNNERS_USAGE}`,
      );
      return 2;
  }
}

async function addRunner(
  args: readonly string[],
  store: JobStore,
  io: AdminIo,
  options: RunnersCommandOptions,
): Promise<number> {
  const [name, ...extra] = args;
  if (name === undefined || extra.length > 0) {
    io.stderr.write(`kanbot runners add: expected exactly one runner name\n\n${RUNNERS_USAGE}`);
    return 2;
  }
  const checked = RunnerName.safeParse(name);
  if (!checked.success) {
    io.stderr.write(
      `kanbot runners add: "${name}" is not a valid runner name: ${checked.error.issues[0]?.message ?? "invalid"}\n`,
    );
    return 2;
  }
  const same = (await store.listRunners()).filter(
    (runner) => runner.name === name && runner.revokedAt === undefined,
  );
  const grant = await store.createRegistrationToken(options.registrationTokenTtlMs);
  await store.audit({
    actor: options.actor ?? "admin",
    action: "runner.registration-token-issued",
    detail: { name, expiresAt: grant.expiresAt.toISOString() },
  });
  if (same.length > 0) {
    io.stderr.write(
      `kanbot runners add: note: a runner called "${name}" is already registered (${same.map((runner) => runner.id).join(", ")}); remove it with kanbot runners remove if this one replaces it\n`,
    );
  }
  io.stdout.write(
    [
      `Registration token for runner "${name}" (valid once, until ${grant.expiresAt.toISOString()}):`,
      "",
      `  ${grant.token}`,
      "",
      "On the workstation, run:",
      "",
      `  kanbot-runner register --url ${options.publicUrl} --name ${name} --token ${grant.token}`,
      "",
      "The token is shown only now; kanbot stores only its hash.",
      "",
    ].join("\n"),
  );
  return 0;
}

async function listRunners(
  args: readonly string[],
  store: JobStore,
  io: AdminIo,
  options: RunnersCommandOptions,
): Promise<number> {
  const json = args.includes("--json");
  const unknown = args.filter((arg) => arg !== "--json");
  if (unknown.length > 0) {
    io.stderr.write(`kanbot runners list: unexpected argument "${unknown[0]}"\n\n${RUNNERS_USAGE}`);
    return 2;
  }
  const runners = await store.listRunners();
  if (json) {
    io.stdout.write(`${JSON.stringify(runners.map(runnerJson), null, 2)}\n`);
    return 0;
  }
  if (runners.length === 0) {
    io.stdout.write("No runners registered. Add one with: kanbot runners add <name>\n");
    return 0;
  }
  const now = (options.now ?? (() => new Date()))();
  const rows = [
    ["NAME", "ID", "AGENTS", "LABELS", "REPOS", "LAST SEEN", "STATUS"],
    ...runners.map((runner) => [
      runner.name,
      runner.id,
      runner.agents.join(",") || "-",
      runner.labels.join(",") || "-",
      runner.repos.join(",") || "(all)",
      runner.lastSeenAt === undefined ? "never" : ago(now, runner.lastSeenAt),
      runner.revokedAt === undefined ? "active" : `revoked ${runner.revokedAt.toISOString()}`,
    ]),
  ];
  io.stdout.write(table(rows));
  return 0;
}

async function removeRunner(
  args: readonly string[],
  store: JobStore,
  io: AdminIo,
  options: RunnersCommandOptions,
): Promise<number> {
  const [wanted, ...extra] = args;
  if (wanted === undefined || extra.length > 0) {
    io.stderr.write(`kanbot runners remove: expected one runner name or id\n\n${RUNNERS_USAGE}`);
    return 2;
  }
  const runners = await store.listRunners();
  const byId = runners.find((runner) => runner.id === wanted);
  const byName = runners.filter((runner) => runner.name === wanted);
  const active = byName.filter((runner) => runner.revokedAt === undefined);
  const target =
    byId ?? (active.length === 1 ? active[0] : byName.length === 1 ? byName[0] : undefined);
  if (target === undefined) {
    if (active.length > 1) {
      io.stderr.write(
        `kanbot runners remove: ${active.length} runners are called "${wanted}" (${active.map((runner) => runner.id).join(", ")}); pass the id of the one to remove\n`,
      );
    } else {
      io.stderr.write(
        `kanbot runners remove: no runner is called or has the id "${wanted}"; see kanbot runners list\n`,
      );
    }
    return 1;
  }
  if (target.revokedAt !== undefined) {
    io.stdout.write(
      `Runner "${target.name}" (${target.id}) was already removed on ${target.revokedAt.toISOString()}.\n`,
    );
    return 0;
  }
  await store.revokeRunner(target.id, options.actor ?? "admin");
  io.stdout.write(
    `Removed runner "${target.name}" (${target.id}): its token no longer works; jobs it holds are requeued when their leases expire.\n`,
  );
  return 0;
}

function runnerJson(runner: Runner) {
  return {
    id: runner.id,
    name: runner.name,
    agents: runner.agents,
    labels: runner.labels,
    repos: runner.repos,
    registeredAt: runner.registeredAt.toISOString(),
    lastSeenAt: runner.lastSeenAt?.toISOString() ?? null,
    revokedAt: runner.revokedAt?.toISOString() ?? null,
  };
}

function ago(now: Date, then: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
