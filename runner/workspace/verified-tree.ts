/**
 * Which paths differ between two commits, read object by object from a repository with every
 * object's hash checked against its name. This is what the forbidden-path check rests on: the
 * remote keeps exactly the objects whose hashes match the SHA that is pushed, so a check that
 * verifies hashes sees what the remote will get, whatever an agent wrote into the shared mirror
 * (replace refs, grafts, a forged commit-graph, a loose object or pack index that answers one name
 * with another object's bytes, a `.git` file pointing elsewhere).
 *
 * Like `git diff --name-only --no-renames A B`: a path counts when its entry (mode or object)
 * differs; a folder that became a file (or the reverse) counts with every path below it. Subtrees
 * with the same object name are equal and not read.
 */
import { createHash } from "node:crypto";

import { WorkspaceError } from "./errors.js";
import { runGitBytes } from "./git.js";
import type { GitContext } from "./mirror.js";

/** One object as read: its type and content, hash verified. */
export interface VerifiedObject {
  type: string;
  content: Buffer;
}

/**
 * Reads objects with `git cat-file --batch` in `gitDir` and checks each one's hash. Throws
 * {@link WorkspaceError} for a missing object or one whose bytes do not hash to its name.
 */
export async function readVerifiedObjects(
  context: GitContext,
  gitDir: string,
  oids: readonly string[],
): Promise<Map<string, VerifiedObject>> {
  const unique = [...new Set(oids)];
  const objects = new Map<string, VerifiedObject>();
  if (unique.length === 0) return objects;
  for (const oid of unique) checkOid(oid);
  const { stdout } = await runGitBytes({
    args: ["--git-dir", gitDir, "cat-file", "--batch"],
    cwd: gitDir,
    env: context.env,
    input: `${unique.join("\n")}\n`,
  });
  let offset = 0;
  for (const oid of unique) {
    const newline = stdout.indexOf(0x0a, offset);
    if (newline < 0) throw tampered(gitDir, oid, "git cat-file ended early");
    const header = stdout.subarray(offset, newline).toString("utf8").split(" ");
    if (header[0] !== oid || header.length !== 3) {
      throw tampered(gitDir, oid, `the object is missing (${header.slice(1).join(" ")})`);
    }
    const type = header[1] as string;
    const size = Number(header[2]);
    const start = newline + 1;
    const content = stdout.subarray(start, start + size);
    if (!Number.isSafeInteger(size) || content.length !== size) {
      throw tampered(gitDir, oid, "git cat-file returned a short object");
    }
    if (objectName(type, content, oid.length) !== oid) {
      throw tampered(gitDir, oid, "its bytes do not hash to its name");
    }
    objects.set(oid, { type, content });
    offset = start + size + 1;
  }
  return objects;
}

/** The root tree of a commit, from the verified commit object. */
export async function verifiedRootTree(
  context: GitContext,
  gitDir: string,
  commit: string,
): Promise<string> {
  const object = (await readVerifiedObjects(context, gitDir, [commit])).get(commit);
  if (object?.type !== "commit") {
    throw tampered(gitDir, commit, `it is a ${object?.type ?? "missing object"}, not a commit`);
  }
  const match = /^tree ([0-9a-f]{40}|[0-9a-f]{64})\n/.exec(object.content.toString("latin1"));
  if (match?.[1] === undefined) throw tampered(gitDir, commit, "the commit names no tree");
  return match[1];
}

/** Paths that differ between commits `from` and `to`, every object read verified. */
export async function verifiedChangedPaths(
  context: GitContext,
  gitDir: string,
  from: string,
  to: string,
): Promise<string[]> {
  const [fromTree, toTree] = [
    await verifiedRootTree(context, gitDir, from),
    await verifiedRootTree(context, gitDir, to),
  ];
  const changed: string[] = [];
  // One `cat-file` per level of folders: the pairs of trees that differ at that depth.
  let level: TreePair[] = fromTree === toTree ? [] : [{ prefix: "", from: fromTree, to: toTree }];
  while (level.length > 0) {
    const oids = level.flatMap((pair) => [pair.from, pair.to]).filter(isString);
    const trees = await readVerifiedObjects(context, gitDir, oids);
    const next: TreePair[] = [];
    for (const pair of level) {
      const a = pair.from === null ? new Map() : parseTree(gitDir, pair.from, trees);
      const b = pair.to === null ? new Map() : parseTree(gitDir, pair.to, trees);
      for (const name of new Set([...a.keys(), ...b.keys()])) {
        const path = `${pair.prefix}${name}`;
        const left = a.get(name);
        const right = b.get(name);
        if (left !== undefined && right !== undefined && sameEntry(left, right)) continue;
        const leftLeaf = left !== undefined && !left.tree;
        const rightLeaf = right !== undefined && !right.tree;
        if (leftLeaf || rightLeaf) changed.push(path);
        const leftTree = left?.tree === true ? left.oid : null;
        const rightTree = right?.tree === true ? right.oid : null;
        if (leftTree !== null || rightTree !== null) {
          next.push({ prefix: `${path}/`, from: leftTree, to: rightTree });
        }
      }
    }
    level = next;
  }
  return changed.sort();
}

interface TreePair {
  prefix: string;
  from: string | null;
  to: string | null;
}

interface TreeEntry {
  mode: string;
  oid: string;
  tree: boolean;
}

/** A tree object's entries by name (`<mode> <name>\0<raw object name>` repeated). */
function parseTree(
  gitDir: string,
  oid: string,
  objects: ReadonlyMap<string, VerifiedObject>,
): Map<string, TreeEntry> {
  const object = objects.get(oid);
  if (object?.type !== "tree") {
    throw tampered(gitDir, oid, `it is a ${object?.type ?? "missing object"}, not a tree`);
  }
  const rawLength = oid.length / 2;
  const entries = new Map<string, TreeEntry>();
  const content = object.content;
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(0x20, offset);
    const nul = content.indexOf(0x00, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + rawLength > content.length) {
      throw tampered(gitDir, oid, "the tree is malformed");
    }
    const mode = content.subarray(offset, space).toString("latin1");
    const name = content.subarray(space + 1, nul).toString("utf8");
    const entryOid = content.subarray(nul + 1, nul + 1 + rawLength).toString("hex");
    // Two entries with one name exist only in a crafted tree; which one a checkout takes is not
    // something to guess.
    if (name === "" || entries.has(name)) throw tampered(gitDir, oid, "the tree is malformed");
    entries.set(name, { mode, oid: entryOid, tree: mode === "40000" || mode === "040000" });
    offset = nul + 1 + rawLength;
  }
  return entries;
}

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return a.oid === b.oid && a.mode === b.mode;
}

/** `sha1("<type> <size>\0<content>")`, or sha256 in a repository of 64-character names. */
function objectName(type: string, content: Buffer, nameLength: number): string {
  const hash = createHash(nameLength === 64 ? "sha256" : "sha1");
  hash.update(`${type} ${content.length}\0`, "latin1");
  hash.update(content);
  return hash.digest("hex");
}

function checkOid(oid: string): void {
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(oid)) {
    throw new WorkspaceError(`"${oid}" is not a full object name`);
  }
}

function tampered(gitDir: string, oid: string, why: string): WorkspaceError {
  return new WorkspaceError(
    `object ${oid} in ${gitDir} cannot be trusted: ${why}; nothing was pushed — the mirror was changed behind git's back or is corrupt: delete ${gitDir} so the next job fetches it afresh`,
  );
}

function isString(value: string | null): value is string {
  return value !== null;
}
