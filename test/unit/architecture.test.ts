/**
 * Architecture rules (DESIGN section 3, STYLE.md "pure core, effects at the edge"):
 * - `src/domain/` is pure: it imports only other domain files and `zod`, and reads no ambient
 *   I/O or clock (`process`, `fetch`, timers, `console`, `Date.now()`, `new Date()`,
 *   `Math.random()`); the clock comes in as an argument.
 * - `src/protocol/` (the runner API schemas shared with runner/) imports only `zod` and its own
 *   files.
 *
 * Imports are read with the TypeScript compiler's own pre-processor (`ts.preProcessFile`), which
 * sees `import`, `import type`, `export ... from`, `import x = require()`, `require()`, dynamic
 * `import()` and `import("x")` types; triple-slash type references count too.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SOURCE_EXTENSIONS = [".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs"];

interface Layer {
  /** Folder of the layer, relative to the repository root. */
  dir: string;
  /** Bare module specifiers the layer may import, besides relative files inside the layer. */
  packages: readonly string[];
  /** Whether to check for ambient I/O and clock reads as well as imports. */
  pure: boolean;
}

const DOMAIN: Layer = { dir: "src/domain", packages: ["zod"], pure: true };
const PROTOCOL: Layer = { dir: "src/protocol", packages: ["zod"], pure: false };

interface Violation {
  file: string;
  line: number;
  problem: string;
}

/** Every rule `layer` breaks in `source`, which is the text of `file` (a path in the repo). */
function checkSource(layer: Layer, file: string, source: string): Violation[] {
  const info = ts.preProcessFile(source, true, true);
  const at = (pos: number) => ts.getLineAndCharacterOfPosition(sourceFile, pos).line + 1;
  const sourceFile = ts.createSourceFile(
    file,
    source,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const violations: Violation[] = [];

  for (const imported of info.importedFiles) {
    const problem = importProblem(layer, file, imported.fileName);
    if (problem) violations.push({ file, line: at(imported.pos), problem });
  }
  for (const reference of [...info.typeReferenceDirectives, ...info.referencedFiles]) {
    violations.push({
      file,
      line: at(reference.pos),
      problem: `triple-slash reference to "${reference.fileName}"`,
    });
  }
  if (layer.pure) violations.push(...ambientProblems(sourceFile));
  return violations;
}

function importProblem(layer: Layer, file: string, specifier: string): string | null {
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    const target = join(dirname(file), specifier);
    const inside = target === layer.dir || target.startsWith(`${layer.dir}/`);
    return inside ? null : `imports "${specifier}", which is outside ${layer.dir}/`;
  }
  if (layer.packages.includes(specifier)) return null;
  return `imports "${specifier}"; ${layer.dir}/ may import only ${layer.packages.join(", ")} and its own files`;
}

const AMBIENT_OBJECTS = new Set([
  "process",
  "console",
  "globalThis",
  "window",
  "navigator",
  "crypto",
]);
const AMBIENT_CALLS = new Set([
  "fetch",
  "require",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "clearTimeout",
  "clearInterval",
]);

/** Reads of the outside world that need no import: globals, timers, the clock, randomness. */
function ambientProblems(sourceFile: ts.SourceFile): Violation[] {
  const found: Violation[] = [];
  const report = (node: ts.Node, problem: string) =>
    found.push({
      file: sourceFile.fileName,
      line: sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1,
      problem,
    });
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const object = node.expression.text;
      const member = node.name.text;
      if (AMBIENT_OBJECTS.has(object)) report(node, `uses the global ${object}.${member}`);
      if (object === "Date" && member === "now")
        report(node, "reads the clock (Date.now); take `now` as an argument");
      if (object === "Math" && member === "random")
        report(node, "uses Math.random; take randomness as an argument");
    }
    // `require("x")` with a literal is an import, reported above; any other call is ambient.
    const literalRequire =
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "require" &&
      node.arguments.length === 1 &&
      ts.isStringLiteralLike(node.arguments[0]!);
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      AMBIENT_CALLS.has(node.expression.text) &&
      !literalRequire
    ) {
      report(node, `calls ${node.expression.text}()`);
    }
    if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "Date" &&
      (node.arguments?.length ?? 0) === 0
    ) {
      report(node, "reads the clock (new Date()); take `now` as an argument");
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** Source files under `dir` (relative to the repo root), recursively; none if it is missing. */
function sourceFiles(dir: string): string[] {
  const absolute = join(ROOT, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: "utf8" })
    .filter(
      (name) => SOURCE_EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.endsWith(".d.ts"),
    )
    .map((name) => `${dir}/${name.split(sep).join("/")}`)
    .sort();
}

function checkLayer(layer: Layer): Violation[] {
  return sourceFiles(layer.dir).flatMap((file) =>
    checkSource(layer, file, readFileSync(join(ROOT, file), "utf8")),
  );
}

function format(violations: Violation[]): string[] {
  return violations.map((v) => `${v.file}:${v.line}: ${v.problem}`);
}

describe("architecture", () => {
  it("src/domain/ imports no I/O library and reads no ambient I/O or clock", () => {
    expect(sourceFiles(DOMAIN.dir).length).toBeGreaterThan(0);

    expect(format(checkLayer(DOMAIN))).toEqual([]);
  });

  it("src/protocol/ imports only zod and its own files (an empty or missing folder passes)", () => {
    expect(format(checkLayer(PROTOCOL))).toEqual([]);
  });

  it("finds source files in nested folders and paths relative to the repository", () => {
    const files = sourceFiles(DOMAIN.dir);

    expect(files).toContain("src/domain/types.ts");
    expect(files.every((f) => relative(ROOT, join(ROOT, f)) === f)).toBe(true);
    expect(sourceFiles("src/no-such-folder")).toEqual([]);
  });
});

describe("the architecture check can fail", () => {
  const file = "src/domain/bad.ts";

  it.each([
    ['import { readFileSync } from "node:fs";', "node:fs"],
    ['import fs from "fs";', '"fs"'],
    ['import type { Context } from "probot";', "probot"],
    ['export { Octokit } from "@octokit/rest";', "@octokit/rest"],
    ['export * from "octokit";', "octokit"],
    ['const db = await import("better-sqlite3");', "better-sqlite3"],
    ['import pg = require("pg");', '"pg"'],
    ['const { Kysely } = require("kysely");', "kysely"],
    ['type Exec = typeof import("execa");', "execa"],
    ['import { simpleGit } from "simple-git";', "simple-git"],
    ['import pino from "pino";', "pino"],
    ['import { request } from "undici";', "undici"],
    ['import { parse } from "yaml";', "yaml"],
    ['import { z } from "zod/v4";', "zod/v4"],
    ['import { openStore } from "../store/index.js";', "outside src/domain/"],
    ['import { x } from "./../../runner/cli.js";', "outside src/domain/"],
    ['/// <reference types="node" />', "triple-slash"],
    ["export const t = Date.now();", "Date.now"],
    ["export const t = new Date();", "new Date()"],
    ["export const r = Math.random();", "Math.random"],
    ["export const e = process.env.HOME;", "process.env"],
    ['console.log("hi");', "console.log"],
    ['export const p = fetch("https://example.com");', "fetch()"],
    ["setTimeout(() => undefined, 1);", "setTimeout()"],
    ["export const load = (name: string) => require(name);", "require()"],
  ])("reports %s", (source, mentioned) => {
    const problems = format(checkSource(DOMAIN, file, source));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(mentioned);
    expect(problems[0]).toMatch(/^src\/domain\/bad\.ts:1: /);
  });

  it("accepts domain imports, zod and a clock passed in", () => {
    const source = [
      'import { z } from "zod";',
      'import type { TaskState } from "./types.js";',
      'export { transitionTask } from "./task-machine.js";',
      'import { helper } from "./nested/helper.js";',
      'import { sibling } from "../domain/labels.js";',
      "export function at(now: Date): Date { return new Date(now.getTime() + 1); }",
      "const obj = { process: 1 }; export const v = obj.process;",
    ].join("\n");

    expect(format(checkSource(DOMAIN, file, source))).toEqual([]);
  });

  it("reports the line of each problem", () => {
    const source = ['import { z } from "zod";', "", 'import http from "node:http";'].join("\n");

    expect(format(checkSource(DOMAIN, file, source))).toEqual([
      'src/domain/bad.ts:3: imports "node:http"; src/domain/ may import only zod and its own files',
    ]);
  });

  it("holds src/protocol/ to zod and its own files", () => {
    const source = [
      'import { z } from "zod";',
      'import { jobSchema } from "./jobs.js";',
      'import type { JobKind } from "../domain/types.js";',
    ].join("\n");

    expect(format(checkSource(PROTOCOL, "src/protocol/claim.ts", source))).toEqual([
      'src/protocol/claim.ts:3: imports "../domain/types.js", which is outside src/protocol/',
    ]);
  });
});
