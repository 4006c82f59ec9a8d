/**
 * Where a program lives, so the sandbox can show it read-only when it is installed somewhere the
 * sandbox hides (an agent CLI installed with nvm, pipx or a native installer in the runner user's
 * home). For a program the folders are:
 * - the folder it was found in (a `PATH` entry, e.g. `~/.local/bin`);
 * - for its real file (symlinks followed): the Python virtual environment it belongs to (a `bin`
 *   folder next to `pyvenv.cfg`), else its npm package (the nearest folder above it holding a
 *   `package.json`), else its own folder;
 * - the same for its interpreter when it is a script (`#!/usr/bin/env node`, `#!/path/python`).
 *
 * Nothing more: a whole prefix like `~/.cargo` or `~/.local` may hold credentials
 * (`~/.cargo/credentials.toml`), so it is never shown for one program in it.
 */
import { constants } from "node:fs";
import { access, open, realpath, stat } from "node:fs/promises";
import { basename, delimiter, dirname, isAbsolute, join, resolve } from "node:path";

/** How far up from a program's real file a `package.json` is looked for. */
const PACKAGE_SEARCH_LEVELS = 6;
/** Interpreters followed from a script (a script run by a script run by…). */
const INTERPRETER_DEPTH = 3;

/**
 * The executable `command` names: a path (relative ones against `cwd`) or a name looked up on
 * `pathEnv`. Undefined when there is none.
 */
export async function findExecutable(
  command: string,
  pathEnv: string,
  cwd: string = process.cwd(),
): Promise<string | undefined> {
  const candidates = command.includes("/")
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : pathEnv
        .split(delimiter)
        .filter((dir) => dir !== "" && isAbsolute(dir))
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The folders `program` (an absolute path) needs to run; see the module comment. */
export async function installFolders(program: string, pathEnv: string): Promise<string[]> {
  const folders = new Set<string>();
  await collect(program, pathEnv, folders, INTERPRETER_DEPTH);
  return [...folders];
}

async function collect(
  program: string,
  pathEnv: string,
  folders: Set<string>,
  depthLeft: number,
): Promise<void> {
  folders.add(dirname(program));
  const real = await realpath(program).catch(() => program);
  for (const file of new Set([program, real])) folders.add(await installRoot(file));
  if (depthLeft <= 0) return;
  const interpreter = await interpreterOf(real, pathEnv);
  if (interpreter !== undefined && !folders.has(interpreter)) {
    await collect(interpreter, pathEnv, folders, depthLeft - 1);
  }
}

/** The virtual environment, npm package or folder a file belongs to. */
async function installRoot(file: string): Promise<string> {
  const folder = dirname(file);
  if (basename(folder) === "bin" && (await exists(join(dirname(folder), "pyvenv.cfg")))) {
    return dirname(folder);
  }
  let current = folder;
  for (let level = 0; level < PACKAGE_SEARCH_LEVELS; level++) {
    if (await exists(join(current, "package.json"))) return current;
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return folder;
}

/** The program a script's `#!` line runs (`env` resolved on PATH), when it has one. */
export async function interpreterOf(file: string, pathEnv: string): Promise<string | undefined> {
  const line = await firstLine(file);
  if (line === undefined || !line.startsWith("#!")) return undefined;
  const words = line.slice(2).trim().split(/\s+/);
  const [first, ...rest] = words;
  if (first === undefined || first === "") return undefined;
  if (basename(first) !== "env") return first;
  // `#!/usr/bin/env -S node --flag`, `#!/usr/bin/env node`: the first word that is not an option.
  const name = rest.find((word) => !word.startsWith("-") && !word.includes("="));
  return name === undefined ? undefined : findExecutable(name, pathEnv);
}

async function firstLine(file: string): Promise<string | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const buffer = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString("utf8");
    return text.split("\n")[0];
  } finally {
    await handle.close();
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
