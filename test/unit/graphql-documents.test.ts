/**
 * Contract test (DESIGN section 10.3): every GraphQL document kanbot can send is valid against
 * GitHub's published schema (`@octokit/graphql-schema`).
 *
 * Documents live as named constants in src/github/graphql.ts; each is validated. So that a
 * document written anywhere else cannot escape, every file of src/ is read with the TypeScript
 * compiler and:
 * - every string or template literal that reads as a GraphQL operation (`query …`,
 *   `mutation …`, `subscription …`, `fragment …`) is validated;
 * - a document built with `${…}` interpolation is refused (it could not be checked);
 * - every `graphql(…)` / `….graphql(…)` call and `gql`/`graphql` tagged template must pass a
 *   literal document or one of graphql.ts's constants;
 * - a REST-style `POST /graphql` request is refused (GraphQL goes through `octokit.graphql`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as documents from "../../src/github/graphql.js";
import { GRAPHQL_DOCUMENTS } from "../../src/github/graphql.js";
import * as pullRequestDocuments from "../../src/github/pull-request-graphql.js";
import { PULL_REQUEST_GRAPHQL_DOCUMENTS } from "../../src/github/pull-request-graphql.js";
import {
  formatGraphQLErrors,
  graphQLOperationName,
  validateGraphQL,
} from "../helpers/github-graphql.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = join(ROOT, "src");

/** A GraphQL document found in source text. */
interface FoundDocument {
  file: string;
  line: number;
  text: string;
}

interface ScanResult {
  documents: FoundDocument[];
  /** Places that send GraphQL whose document cannot be checked, with the reason. */
  problems: string[];
}

const OPERATION = /^\s*(?:query|mutation|subscription|fragment)\b\s*[A-Za-z_({]/;

/** The document modules of src/github/ and the record each lists its documents in. */
const DOCUMENT_MODULES = [
  { file: "src/github/graphql.ts", constants: documents, listed: GRAPHQL_DOCUMENTS },
  {
    file: "src/github/pull-request-graphql.ts",
    constants: pullRequestDocuments,
    listed: PULL_REQUEST_GRAPHQL_DOCUMENTS,
  },
] as const;

/** The names of the document modules' exported documents, which calls may pass by name. */
const DOCUMENT_CONSTANTS = new Set(
  DOCUMENT_MODULES.flatMap((module) => Object.entries(module.constants))
    .filter(([, value]) => typeof value === "string")
    .map(([name]) => name),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function isGraphQLCallee(expression: ts.Expression): boolean {
  if (ts.isIdentifier(expression)) return /^(graphql|gql)$/.test(expression.text);
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text === "graphql";
  if (ts.isCallExpression(expression)) return isGraphQLCallee(expression.expression);
  return false;
}

function literalText(node: ts.Node): string | undefined {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
    ? node.text
    : undefined;
}

/** Every GraphQL document in one file's text, and every GraphQL use that cannot be checked. */
export function scanSource(file: string, text: string): ScanResult {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FoundDocument[] = [];
  const problems: string[] = [];
  const where = (node: ts.Node): string =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const line = (node: ts.Node): number =>
    source.getLineAndCharacterOfPosition(node.getStart()).line + 1;

  function checkDocumentArgument(argument: ts.Node | undefined, call: ts.Node): void {
    if (argument === undefined) {
      problems.push(`${where(call)}: a GraphQL call without a document`);
      return;
    }
    const literal = literalText(argument);
    if (literal !== undefined) {
      // Literal documents are validated where the walk meets them (a `{ … }` shorthand too).
      if (!OPERATION.test(literal)) found.push({ file, line: line(argument), text: literal });
      return;
    }
    if (ts.isIdentifier(argument) && DOCUMENT_CONSTANTS.has(argument.text)) return;
    if (ts.isPropertyAccessExpression(argument) && DOCUMENT_CONSTANTS.has(argument.name.text)) {
      return;
    }
    problems.push(
      `${where(argument)}: GraphQL document "${argument.getText(source).slice(0, 60)}" is not a literal or a constant of src/github/graphql.ts, so it cannot be validated`,
    );
  }

  function visit(node: ts.Node): void {
    const literal = literalText(node);
    if (literal !== undefined) {
      if (OPERATION.test(literal)) found.push({ file, line: line(node), text: literal });
      if (/^\s*POST\s+\/(api\/)?graphql\s*$/i.test(literal)) {
        problems.push(
          `${where(node)}: GraphQL sent as a REST request; use octokit.graphql with a document from src/github/graphql.ts`,
        );
      }
    }
    if (ts.isTemplateExpression(node) && OPERATION.test(node.head.text)) {
      problems.push(
        `${where(node)}: a GraphQL document built with \${…} interpolation cannot be validated; write it out in src/github/graphql.ts`,
      );
    }
    if (ts.isCallExpression(node) && isGraphQLCallee(node.expression)) {
      checkDocumentArgument(node.arguments[0], node);
    }
    if (ts.isTaggedTemplateExpression(node) && isGraphQLCallee(node.tag)) {
      checkDocumentArgument(node.template, node);
    }
    ts.forEachChild(node, visit);
  }
  visit(source);
  return { documents: found, problems };
}

function scanSrc(): ScanResult {
  const results = sourceFiles(SRC).map((path) =>
    scanSource(relative(ROOT, path), readFileSync(path, "utf8")),
  );
  return {
    documents: results.flatMap((result) => result.documents),
    problems: results.flatMap((result) => result.problems),
  };
}

describe("GraphQL documents in src/", () => {
  const scan = scanSrc();

  it.each(DOCUMENT_MODULES.flatMap((module) => Object.entries(module.listed)))(
    "%s is valid against GitHub's schema",
    (name, document) => {
      const errors = validateGraphQL(document);

      expect(formatGraphQLErrors(errors)).toBe("");
      expect(graphQLOperationName(document)).toBe(name);
    },
  );

  it.each(DOCUMENT_MODULES)("every string constant of $file is listed in its record", (module) => {
    const listed = new Set<string>(Object.values(module.listed));

    const unlisted = Object.entries(module.constants)
      .filter(([, value]) => typeof value === "string" && !listed.has(value))
      .map(([name]) => name);

    expect(unlisted).toEqual([]);
  });

  it.each(DOCUMENT_MODULES)("finds the documents of $file in the source text", (module) => {
    const inFile = scan.documents.filter((found) => found.file === module.file);

    expect(inFile).toHaveLength(Object.keys(module.listed).length);
  });

  it("every GraphQL document anywhere in src/ is valid against GitHub's schema", () => {
    const invalid = scan.documents
      .map((found) => ({ found, errors: formatGraphQLErrors(validateGraphQL(found.text)) }))
      .filter(({ errors }) => errors !== "")
      .map(({ found, errors }) => `${found.file}:${found.line}\n${errors}`);

    expect(invalid).toEqual([]);
  });

  it("every GraphQL call in src/ sends a document that can be validated", () => {
    expect(scan.problems).toEqual([]);
  });

  describe("the check can fail", () => {
    it("rejects a document with a field GitHub does not have", () => {
      const errors = validateGraphQL(
        `query { organization(login: "o") { projectV3(number: 1) { id } } }`,
      );

      expect(formatGraphQLErrors(errors)).toMatch(
        /Cannot query field "projectV3" on type "Organization"/,
      );
    });

    it("finds an invalid document written outside graphql.ts, and names the file and line", () => {
      const source = [
        "export async function x(octokit: any) {",
        "  return octokit.graphql(`",
        "    query Broken($id: ID!) { node(id: $id) { ... on Issue { titel } } }",
        "  `, { id: 'I_1' });",
        "}",
      ].join("\n");

      const result = scanSource("src/handlers/x.ts", source);
      const errors = result.documents.map((found) =>
        formatGraphQLErrors(validateGraphQL(found.text)),
      );

      expect(result.documents).toMatchObject([{ file: "src/handlers/x.ts", line: 2 }]);
      expect(errors[0]).toMatch(/Cannot query field "titel" on type "Issue"/);
    });

    it("refuses documents it cannot see: interpolated, computed, or sent as REST", () => {
      const source = [
        "const FIELDS = 'id';",
        "const q = `query Q { viewer { ${FIELDS} } }`;",
        "await octokit.graphql(pickDocument(), {});",
        "await context.octokit.graphql(q, {});",
        "await octokit.request('POST /graphql', { query: q });",
        "const doc = gql`{ viewer { login } }`;",
      ].join("\n");

      const result = scanSource("src/x.ts", source);

      expect(result.problems).toEqual([
        expect.stringMatching(/^src\/x\.ts:2: a GraphQL document built with/),
        expect.stringMatching(
          /^src\/x\.ts:3: GraphQL document "pickDocument\(\)" is not a literal/,
        ),
        expect.stringMatching(/^src\/x\.ts:4: GraphQL document "q" is not a literal/),
        expect.stringMatching(/^src\/x\.ts:5: GraphQL sent as a REST request/),
      ]);
      expect(result.documents.map((found) => found.text)).toEqual(["{ viewer { login } }"]);
    });

    it("accepts a call that passes a constant of graphql.ts", () => {
      const source = "await octokit.graphql<Data>(FIND_PROJECT, { owner, number });";

      expect(scanSource("src/x.ts", source).problems).toEqual([]);
    });
  });
});
