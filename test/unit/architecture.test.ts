/**
 * Architecture rules (DESIGN section 3, STYLE.md "pure core, effects at the edge"):
 * - `src/domain/` is pure: it imports only other domain files and `zod`, and reads no ambient
 *   I/O or clock (`process`, `fetch`, timers, `console`, `Date.now()`, `new Date()`,
 *   `Math.random()`); the clock comes in as an argument.
 * - `src/protocol/` (the runner API schemas shared with runner/) imports only `zod` and its own
 *   files.
 * - The one-way arrows of docs/architecture.md ("Arrows"), as import rules (`IMPORT_RULES`): the
 *   task effects never import the loop; nothing imports `src/services/` (gone); the inbox reaches
 *   the handlers only through its router; `src/inbox/internal-events.ts` is a leaf; and in the
 *   runner, the composition (`main.ts` -> `daemon.ts`) sits on top, `dispatch/` and
 *   `job-runner.ts` side by side, and `workspace/`, `agents/`, `sandbox/`, `process/` below.
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

/** A rule about which files may import which (the arrows between layers). */
interface ImportRule {
  /** The rule in words; the test's name and the end of each problem it reports. */
  name: string;
  /** What it holds, relative to the repo root: folders (every source file below) and files. */
  files: readonly string[];
  /** Files of `files` the rule leaves out. */
  except?: readonly string[];
  /**
   * Modules the files may not import, as repo paths: a file without its extension
   * (`src/tasks/apply`) or a folder with a trailing slash (`src/services/`, which also covers an
   * import of the folder itself). Type-only imports count: a type import is an arrow too.
   */
  forbidden?: readonly string[];
  /**
   * The files import nothing but types: `import type`, `export type ... from` and `import("x")`
   * in a type. (`import { type X } from "x"` is not one: with `verbatimModuleSyntax` it stays in
   * the output as `import {} from "x"`, which loads "x".)
   */
  typesOnly?: boolean;
}

const RUNNER_TOP = ["runner/main", "runner/daemon", "runner/job-runner", "runner/dispatch/"];

const IMPORT_RULES: readonly ImportRule[] = [
  {
    name: "the task effects never import the loop (src/tasks/apply.ts) or start (src/tasks/start.ts)",
    files: ["src/tasks/effects"],
    forbidden: ["src/tasks/apply", "src/tasks/start"],
  },
  {
    name: "nothing imports src/services/ (it is gone; the task core is src/tasks/)",
    files: ["src", "runner", "test", "bench"],
    forbidden: ["src/services/"],
  },
  {
    name: "src/inbox/ reaches src/handlers/ only through its router, src/inbox/route-event.ts",
    files: ["src/inbox"],
    except: ["src/inbox/route-event.ts"],
    forbidden: ["src/handlers/"],
  },
  {
    name: "src/inbox/internal-events.ts is a leaf: it imports types only",
    files: ["src/inbox/internal-events.ts"],
    typesOnly: true,
  },
  {
    name: "runner/dispatch/ imports none of runner/job-runner.ts, runner/daemon.ts, runner/main.ts",
    files: ["runner/dispatch"],
    forbidden: ["runner/job-runner", "runner/daemon", "runner/main"],
  },
  {
    name: "runner/job-runner.ts does not import runner/dispatch/ (they share runner/job-control.ts)",
    files: ["runner/job-runner.ts"],
    forbidden: ["runner/dispatch/"],
  },
  {
    name: "only runner/main.ts imports runner/daemon.ts (the composition sits on top)",
    files: ["src", "runner"],
    except: ["runner/main.ts"],
    forbidden: ["runner/daemon"],
  },
  {
    name: "runner/{workspace,agents,sandbox,process}/ import nothing above them (main, daemon, dispatch/, job-runner)",
    files: ["runner/workspace", "runner/agents", "runner/sandbox", "runner/process"],
    forbidden: RUNNER_TOP,
  },
];

const MODULE_EXTENSION = /\.(?:[cm]?[jt]s|tsx|jsx)$/;

/** The repo path a relative import of `file` names, without its extension; null for a package. */
function importTarget(file: string, specifier: string): string | null {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  return join(dirname(file), specifier).split(sep).join("/").replace(MODULE_EXTENSION, "");
}

function isForbidden(target: string, forbidden: string): boolean {
  if (!forbidden.endsWith("/")) return target === forbidden;
  return target === forbidden.slice(0, -1) || target.startsWith(forbidden);
}

/** Where each import that loads nothing at run time names its module (offsets in `sourceFile`). */
function typeOnlySpecifiers(sourceFile: ts.SourceFile): Set<number> {
  const found = new Set<number>();
  const visit = (node: ts.Node): void => {
    const specifier =
      (ts.isImportDeclaration(node) && node.importClause?.isTypeOnly === true) ||
      (ts.isExportDeclaration(node) && node.isTypeOnly)
        ? node.moduleSpecifier
        : ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)
          ? node.argument.literal
          : ts.isImportEqualsDeclaration(node) &&
              node.isTypeOnly &&
              ts.isExternalModuleReference(node.moduleReference)
            ? node.moduleReference.expression
            : undefined;
    if (specifier !== undefined) found.add(specifier.getStart(sourceFile));
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/**
 * Every import of `source` (the text of `file`) that `rule` forbids. The syntax tree is built only
 * for a types-only rule: the others scan hundreds of files (test/ among them).
 */
function checkImports(rule: ImportRule, file: string, source: string): Violation[] {
  const info = ts.preProcessFile(source, true, true);
  const typeOnly =
    rule.typesOnly === true
      ? typeOnlySpecifiers(
          ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS),
        )
      : undefined;
  const lineOf = (pos: number) => source.slice(0, pos).split("\n").length;
  const violations: Violation[] = [];
  // A triple-slash `path` reference is an arrow too, but loads nothing at run time.
  const references = new Set(info.referencedFiles);
  for (const imported of [...info.importedFiles, ...references]) {
    const specifier = imported.fileName;
    const line = lineOf(imported.pos);
    if (typeOnly !== undefined && !references.has(imported) && !typeOnly.has(imported.pos)) {
      violations.push({
        file,
        line,
        problem: `imports "${specifier}" for more than its types; ${rule.name}`,
      });
      continue;
    }
    const target = importTarget(file, specifier);
    const hit =
      target === null ? undefined : rule.forbidden?.find((module) => isForbidden(target, module));
    if (hit !== undefined) {
      violations.push({ file, line, problem: `imports "${specifier}" (${hit}); ${rule.name}` });
    }
  }
  return violations;
}

/** The files `rule` holds in the working tree. */
function filesOf(rule: ImportRule): string[] {
  const except = new Set(rule.except ?? []);
  return rule.files
    .flatMap((entry) => (MODULE_EXTENSION.test(entry) ? [entry] : sourceFiles(entry)))
    .filter((file) => existsSync(join(ROOT, file)) && !except.has(file));
}

function checkRule(rule: ImportRule): Violation[] {
  return filesOf(rule).flatMap((file) =>
    checkImports(rule, file, readFileSync(join(ROOT, file), "utf8")),
  );
}

function ruleNamed(start: string): ImportRule {
  const rule = IMPORT_RULES.find((candidate) => candidate.name.startsWith(start));
  if (rule === undefined) throw new Error(`no import rule starts with "${start}"`);
  return rule;
}

describe("architecture", () => {
  it("src/domain/ imports no I/O library and reads no ambient I/O or clock", () => {
    expect(sourceFiles(DOMAIN.dir).length).toBeGreaterThan(0);

    expect(format(checkLayer(DOMAIN))).toEqual([]);
  });

  it("src/protocol/ imports only zod and its own files (an empty or missing folder passes)", () => {
    expect(format(checkLayer(PROTOCOL))).toEqual([]);
  });

  it.each(IMPORT_RULES.map((rule) => [rule.name, rule] as const))("%s", (_name, rule) => {
    // A rule over files that moved away would pass on nothing: each holds some file.
    expect(filesOf(rule).length).toBeGreaterThan(0);

    expect(format(checkRule(rule))).toEqual([]);
  });

  it.each(["src/services", "runner/daemon"])("%s/ does not exist (it was moved)", (dir) => {
    expect(existsSync(join(ROOT, dir))).toBe(false);
  });

  it("holds the files the import rules are about (a moved file fails here, not silently)", () => {
    const held = (start: string) => filesOf(ruleNamed(start));

    expect(held("the task effects")).toEqual(
      expect.arrayContaining(["src/tasks/effects/board.ts", "src/tasks/effects/pull-request.ts"]),
    );
    expect(held("src/inbox/ reaches")).toContain("src/inbox/record-delivery.ts");
    expect(held("src/inbox/ reaches")).not.toContain("src/inbox/route-event.ts");
    expect(held("src/inbox/internal-events.ts")).toEqual(["src/inbox/internal-events.ts"]);
    expect(held("runner/dispatch/")).toContain("runner/dispatch/dispatcher.ts");
    expect(held("runner/job-runner.ts")).toEqual(["runner/job-runner.ts"]);
    expect(held("only runner/main.ts")).not.toContain("runner/main.ts");
    expect(held("runner/{workspace")).toEqual(
      expect.arrayContaining(["runner/workspace/git.ts", "runner/agents/claude.ts"]),
    );
    for (const file of ["src/tasks/apply.ts", "src/tasks/start.ts", "runner/daemon.ts"]) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
    }
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

describe("the import rules can fail", () => {
  it.each([
    [
      "the task effects",
      "src/tasks/effects/labels.ts",
      'import { applyToTask } from "../apply.js";',
      "src/tasks/apply",
    ],
    [
      "the task effects",
      "src/tasks/effects/board.ts",
      'import type { TaskEventOutcome } from "../apply.js";',
      "src/tasks/apply",
    ],
    [
      "the task effects",
      "src/tasks/effects/board.ts",
      'export type { StartRequest } from "../start.js";',
      "src/tasks/start",
    ],
    [
      "the task effects",
      "src/tasks/effects/pull-request.ts",
      'type Run = typeof import("../apply.js").runGate;',
      "src/tasks/apply",
    ],
    [
      "the task effects",
      "src/tasks/effects/nested/deep.ts",
      'const loop = await import("../../apply.ts");',
      "src/tasks/apply",
    ],
    [
      "nothing imports src/services/",
      "src/handlers/on-push.ts",
      'import { applyTaskEvent } from "../services/task-service.js";',
      "src/services/",
    ],
    [
      "nothing imports src/services/",
      "test/unit/tasks/apply.test.ts",
      'import type { ServiceContext } from "../../../src/services/index.js";',
      "src/services/",
    ],
    [
      "nothing imports src/services/",
      "runner/main.ts",
      'export * from "../src/services";',
      "src/services/",
    ],
    [
      "nothing imports src/services/",
      "bench/claim.ts",
      '/// <reference path="../src/services/types.d.ts" />',
      "src/services/",
    ],

    [
      "src/inbox/ reaches",
      "src/inbox/process-delivery.ts",
      'import { onPush } from "../handlers/on-push.js";',
      "src/handlers/",
    ],
    [
      "src/inbox/ reaches",
      "src/inbox/record-delivery.ts",
      'import type { HandlerContext } from "../handlers/handler-context.js";',
      "src/handlers/",
    ],
    [
      "src/inbox/internal-events.ts",
      "src/inbox/internal-events.ts",
      'import { formatIssueRef } from "../domain/dependencies.js";',
      "for more than its types",
    ],
    [
      "src/inbox/internal-events.ts",
      "src/inbox/internal-events.ts",
      'import { type IssueRef } from "../domain/dependencies.js";',
      "for more than its types",
    ],
    [
      "src/inbox/internal-events.ts",
      "src/inbox/internal-events.ts",
      'import { z } from "zod";',
      "for more than its types",
    ],
    [
      "src/inbox/internal-events.ts",
      "src/inbox/internal-events.ts",
      'export { KANBOT_JOB_EVENT } from "./names.js";',
      "for more than its types",
    ],
    [
      "runner/dispatch/",
      "runner/dispatch/dispatcher.ts",
      'import { runJob } from "../job-runner.js";',
      "runner/job-runner",
    ],
    [
      "runner/dispatch/",
      "runner/dispatch/listener.ts",
      'import type { Daemon } from "../daemon.js";',
      "runner/daemon",
    ],
    [
      "runner/dispatch/",
      "runner/dispatch/backoff.ts",
      'import { runnerMain } from "../main.js";',
      "runner/main",
    ],
    [
      "runner/job-runner.ts",
      "runner/job-runner.ts",
      'import { createDispatcher } from "./dispatch/dispatcher.js";',
      "runner/dispatch/",
    ],
    [
      "only runner/main.ts",
      "runner/doctor.ts",
      'import { runDaemon } from "./daemon.js";',
      "runner/daemon",
    ],
    [
      "only runner/main.ts",
      "runner/dispatch/listener.ts",
      'import type { DaemonOptions } from "../daemon.js";',
      "runner/daemon",
    ],
    [
      "runner/{workspace",
      "runner/workspace/workspaces.ts",
      'import { runJob } from "../job-runner.js";',
      "runner/job-runner",
    ],
    [
      "runner/{workspace",
      "runner/agents/claude.ts",
      'import type { Dispatcher } from "../dispatch/dispatcher.js";',
      "runner/dispatch/",
    ],
    [
      "runner/{workspace",
      "runner/sandbox/sandbox.ts",
      'import { runDaemon } from "../daemon.js";',
      "runner/daemon",
    ],
    [
      "runner/{workspace",
      "runner/process/proc.ts",
      'import { runnerMain } from "../main.js";',
      "runner/main",
    ],
  ])("%s: %s reports %s", (rule, file, source, mentioned) => {
    const problems = format(checkImports(ruleNamed(rule), file, source));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(mentioned);
    expect(problems[0]).toContain(`${file}:1: `);
  });

  it.each([
    [
      "the task effects",
      "src/tasks/effects/board.ts",
      [
        'import type { TaskContext } from "../context.js";',
        'import { labelNamesOf } from "../repo-config.js";',
        'import { issueOfTask } from "./progress-comment.js";',
        'import type { Task } from "../../store/index.js";',
        'import { applied } from "./apply.js";',
      ],
    ],
    [
      "nothing imports src/services/",
      "src/tasks/apply.ts",
      ['import { x } from "./services.js";', 'import { y } from "../tasks/services/z.js";'],
    ],
    [
      "src/inbox/ reaches",
      "src/inbox/process-delivery.ts",
      [
        'import { handlerFor } from "./route-event.js";',
        'import type { TaskContext } from "../tasks/context.js";',
      ],
    ],
    [
      "src/inbox/internal-events.ts",
      "src/inbox/internal-events.ts",
      [
        '/// <reference path="./globals.d.ts" />',
        'import type { IssueRef } from "../domain/dependencies.js";',
        'export type { JsonValue } from "../store/index.js";',
        'type Ref = import("../domain/dependencies.js").RepoRef;',
      ],
    ],
    [
      "runner/dispatch/",
      "runner/dispatch/dispatcher.ts",
      [
        'import type { JobControl } from "../job-control.js";',
        'import { backoffDelay } from "./backoff.js";',
        'import { redactJson } from "../process/redact.js";',
      ],
    ],
    [
      "runner/job-runner.ts",
      "runner/job-runner.ts",
      [
        'import type { JobControl } from "./job-control.js";',
        'import { x } from "./dispatcher.js";',
      ],
    ],
    [
      "runner/{workspace",
      "runner/workspace/git.ts",
      [
        'import { buildChildEnv } from "../process/env.js";',
        'import type { JobDescription } from "../../src/protocol/index.js";',
      ],
    ],
  ])("%s: accepts what %s may import", (rule, file, lines) => {
    expect(format(checkImports(ruleNamed(rule), file, lines.join("\n")))).toEqual([]);
  });

  it("reports the line of each forbidden import, and every one of them", () => {
    const source = [
      'import type { TaskContext } from "../context.js";',
      'import { applyToTask } from "../apply.js";',
      "",
      'import { startTask } from "../start.js";',
    ].join("\n");

    expect(
      format(checkImports(ruleNamed("the task effects"), "src/tasks/effects/x.ts", source)),
    ).toEqual([
      'src/tasks/effects/x.ts:2: imports "../apply.js" (src/tasks/apply); the task effects never import the loop (src/tasks/apply.ts) or start (src/tasks/start.ts)',
      'src/tasks/effects/x.ts:4: imports "../start.js" (src/tasks/start); the task effects never import the loop (src/tasks/apply.ts) or start (src/tasks/start.ts)',
    ]);
  });

  it("leaves out the files a rule excepts, and reads single files", () => {
    const inbox = filesOf({
      name: "t",
      files: ["src/inbox"],
      except: ["src/inbox/route-event.ts"],
    });
    const single = filesOf({
      name: "t",
      files: ["runner/job-runner.ts", "runner/no-such-file.ts"],
    });

    expect(inbox).not.toContain("src/inbox/route-event.ts");
    expect(inbox).toContain("src/inbox/inbox-worker.ts");
    expect(single).toEqual(["runner/job-runner.ts"]);
  });
});
