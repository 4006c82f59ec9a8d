/**
 * GitHub's REST API description (`@octokit/openapi`) as a test oracle: which method + path
 * GitHub has, how Octokit encodes a path, and whether a response body has the shape GitHub
 * documents. The JSON is large (13 MB), so each description is read and indexed once per test
 * file (module-level cache) and only when first asked for.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** HTTP methods GitHub's REST API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A description shipped by `@octokit/openapi`: github.com, GitHub Enterprise Cloud or a GHES version. */
export type OpenApiDescriptionName = "api.github.com" | "ghec" | `ghes-${number}.${number}`;

/** One REST operation of GitHub's description, resolved from a concrete request path. */
export interface RestOperation {
  method: HttpMethod;
  /** The description's path template, e.g. `/repos/{owner}/{repo}/issues/{issue_number}`. */
  template: string;
  /** e.g. `issues/get`. */
  operationId: string;
  /** GitHub's documentation page for the operation. */
  docsUrl: string | undefined;
  /** The path parameters read from the concrete path, decoded. */
  params: Record<string, string>;
  /** The description the operation was found in. */
  description: OpenApiDescriptionName;
}

/** A concrete path (or a template plus parameters) for which GitHub has no such operation. */
export class UnknownRestEndpointError extends Error {
  override readonly name = "UnknownRestEndpointError";

  constructor(
    readonly method: string,
    readonly path: string,
    readonly description: OpenApiDescriptionName,
    message: string,
  ) {
    super(message);
  }
}

/** The path parameters a template literal type names: `{ owner; repo }` for `/repos/{owner}/{repo}`. */
export type PathParams<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? { [Key in Name | keyof PathParams<Rest>]: string | number }
  : Record<never, never>;

// ---------------------------------------------------------------------------------------------
// The subset of OpenAPI 3.0 this module reads.

interface Reference {
  $ref: string;
}

/** A JSON schema node as GitHub's description writes them (OpenAPI 3.0 dialect). */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  nullable?: boolean;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

interface OpenApiParameter {
  name: string;
  in: string;
  "x-multi-segment"?: boolean;
}

interface OpenApiResponse {
  content?: Record<string, { schema?: JsonSchema }>;
}

interface OpenApiOperation {
  operationId: string;
  parameters?: (OpenApiParameter | Reference)[];
  responses: Record<string, OpenApiResponse | Reference>;
  externalDocs?: { url: string };
}

type OpenApiPathItem = Partial<Record<Lowercase<HttpMethod>, OpenApiOperation>> & {
  parameters?: (OpenApiParameter | Reference)[];
};

interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, OpenApiPathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters?: Record<string, OpenApiParameter>;
    responses?: Record<string, OpenApiResponse>;
  };
}

interface IndexedOperation {
  method: HttpMethod;
  template: string;
  operation: OpenApiOperation;
  pattern: RegExp;
  paramNames: string[];
  /** One entry per segment: 1 for a literal segment, 0 for one holding a parameter. */
  specificity: number[];
}

interface DescriptionIndex {
  name: OpenApiDescriptionName;
  version: string;
  document: OpenApiDocument;
  byMethod: Map<HttpMethod, IndexedOperation[]>;
  all: IndexedOperation[];
}

const HTTP_METHODS = [
  "GET",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
] as const satisfies readonly HttpMethod[];

/** The key of each method in an OpenAPI path item. */
const ITEM_KEY = {
  GET: "get",
  POST: "post",
  PUT: "put",
  PATCH: "patch",
  DELETE: "delete",
} as const satisfies Record<HttpMethod, Lowercase<HttpMethod>>;

const cache = new Map<OpenApiDescriptionName, DescriptionIndex>();

function generatedDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@octokit/openapi/package.json")), "generated");
}

/** The newest GitHub Enterprise Server description `@octokit/openapi` ships (e.g. `ghes-3.19`). */
export function latestGhesDescription(): OpenApiDescriptionName {
  const versions = readdirSync(generatedDir())
    .map((file) => /^ghes-(\d+)\.(\d+)\.json$/.exec(file))
    .filter((match) => match !== null)
    .map((match) => [Number(match[1]), Number(match[2])] as const)
    .sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error("@octokit/openapi ships no GHES description; run `npm ci` to restore it");
  }
  return `ghes-${newest[0]}.${newest[1]}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function resolveRef<T>(document: OpenApiDocument, value: T | Reference): T {
  if (typeof value !== "object" || value === null || !("$ref" in value)) {
    return value;
  }
  const parts = value.$ref.replace(/^#\//, "").split("/");
  let node: unknown = document;
  for (const part of parts) {
    node = (node as Record<string, unknown>)[part];
  }
  return node as T;
}

function indexOperation(
  document: OpenApiDocument,
  template: string,
  item: OpenApiPathItem,
  method: HttpMethod,
  operation: OpenApiOperation,
): IndexedOperation {
  const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(
    (parameter) => resolveRef(document, parameter),
  );
  const multiSegment = new Set(
    parameters
      .filter((parameter) => parameter["x-multi-segment"] === true)
      .map((parameter) => parameter.name),
  );
  const paramNames: string[] = [];
  const specificity: number[] = [];
  let source = "^";
  for (const segment of template.split("/").slice(1)) {
    specificity.push(segment.includes("{") ? 0 : 1);
    source += "/";
    let rest = segment;
    for (let match = /\{([^}]+)\}/.exec(rest); match !== null; match = /\{([^}]+)\}/.exec(rest)) {
      const name = match[1] ?? "";
      source += escapeRegExp(rest.slice(0, match.index));
      // x-multi-segment parameters (a file path) may carry raw slashes; Octokit sends them encoded.
      source += multiSegment.has(name) ? "(.+?)" : "([^/]+?)";
      paramNames.push(name);
      rest = rest.slice(match.index + match[0].length);
    }
    source += escapeRegExp(rest);
  }
  return {
    method,
    template,
    operation,
    pattern: new RegExp(`${source}$`),
    paramNames,
    specificity,
  };
}

/** Loads (once) and indexes one of the descriptions `@octokit/openapi` ships. */
function loadDescription(name: OpenApiDescriptionName): DescriptionIndex {
  const cached = cache.get(name);
  if (cached !== undefined) {
    return cached;
  }
  const document: OpenApiDocument = JSON.parse(
    readFileSync(join(generatedDir(), `${name}.json`), "utf8"),
  );
  const byMethod = new Map<HttpMethod, IndexedOperation[]>(
    HTTP_METHODS.map((method) => [method, []]),
  );
  const all: IndexedOperation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[ITEM_KEY[method]];
      if (operation === undefined) {
        continue;
      }
      const indexed = indexOperation(document, template, item, method, operation);
      byMethod.get(method)?.push(indexed);
      all.push(indexed);
    }
  }
  const index: DescriptionIndex = { name, version: document.info.version, document, byMethod, all };
  cache.set(name, index);
  return index;
}

function compareSpecificity(a: IndexedOperation, b: IndexedOperation): number {
  for (let i = 0; i < Math.max(a.specificity.length, b.specificity.length); i++) {
    const difference = (b.specificity[i] ?? 0) - (a.specificity[i] ?? 0);
    if (difference !== 0) {
      return difference;
    }
  }
  return 0;
}

function matchOperation(
  index: DescriptionIndex,
  method: HttpMethod,
  pathname: string,
): { indexed: IndexedOperation; params: Record<string, string> } | undefined {
  const candidates = (index.byMethod.get(method) ?? [])
    .filter((indexed) => indexed.pattern.test(pathname))
    .sort(compareSpecificity);
  const indexed = candidates[0];
  if (indexed === undefined) {
    return undefined;
  }
  const values = indexed.pattern.exec(pathname)?.slice(1) ?? [];
  const params = Object.fromEntries(
    indexed.paramNames.map((name, i) => [name, safeDecode(values[i] ?? "")]),
  );
  return { indexed, params };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The templates nearest to `pathname` (typos in literal segments, a segment too many), for errors. */
function closestTemplates(index: DescriptionIndex, pathname: string): string[] {
  const segments = pathname.split("/").slice(1);
  const costs = new Map<string, number>();
  for (const indexed of index.all) {
    const templateSegments = indexed.template.split("/").slice(1);
    let cost = 3 * Math.abs(templateSegments.length - segments.length);
    templateSegments.forEach((segment, i) => {
      const actual = segments[i];
      if (actual !== undefined && !segment.includes("{")) {
        cost += editDistance(segment, actual);
      }
    });
    costs.set(indexed.template, cost);
  }
  return [...costs.entries()]
    .filter(([, cost]) => cost <= 4)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([template]) => template);
}

/**
 * The operation of GitHub's description that serves `method pathname` (a concrete path such as
 * `/repos/o/r/issues/1`, without the `/api/v3` prefix of GHES and without a query string), or
 * throws an {@link UnknownRestEndpointError} that names the closest paths GitHub does have.
 */
export function resolveRestOperation(
  method: HttpMethod,
  pathname: string,
  description: OpenApiDescriptionName = "api.github.com",
): RestOperation {
  const index = loadDescription(description);
  const match = matchOperation(index, method, pathname);
  if (match !== undefined) {
    return {
      method,
      template: match.indexed.template,
      operationId: match.indexed.operation.operationId,
      docsUrl: match.indexed.operation.externalDocs?.url,
      params: match.params,
      description,
    };
  }
  const otherMethods = HTTP_METHODS.filter(
    (other) => matchOperation(index, other, pathname) !== undefined,
  );
  const hints =
    otherMethods.length > 0
      ? [`GitHub has this path only for ${otherMethods.join(", ")}.`]
      : closestTemplates(index, pathname).map((template) => `  did you mean ${template}?`);
  const message = [
    `GitHub's REST API has no ${method} ${pathname} (OpenAPI description ${description} ${index.version}).`,
    ...hints,
    "Mock only requests GitHub can answer: check the method and path on https://docs.github.com/rest.",
  ].join("\n");
  throw new UnknownRestEndpointError(method, pathname, description, message);
}

/** Encodes one path parameter exactly as Octokit's URL template expansion does. */
export function encodePathParam(value: string | number): string {
  return encodeURIComponent(String(value)).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Fills a path template (`/repos/{owner}/{repo}`) with parameters encoded as Octokit sends them
 * (`.github/kanbot.yml` becomes `.github%2Fkanbot.yml`). Throws when a parameter is missing.
 */
export function expandPath(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) {
      throw new Error(
        `path ${template} needs the parameter "${name}"; pass it in the params object`,
      );
    }
    return encodePathParam(value);
  });
}

function schemaOf(document: OpenApiDocument, schema: JsonSchema): JsonSchema {
  return schema.$ref === undefined
    ? schema
    : resolveRef<JsonSchema>(document, { $ref: schema.$ref });
}

function typeOf(value: unknown): string {
  if (value === null) {
    return "null";
  }
  if (Array.isArray(value)) {
    return "array";
  }
  if (typeof value === "number") {
    return Number.isInteger(value) ? "integer" : "number";
  }
  return typeof value;
}

function checkValue(
  document: OpenApiDocument,
  node: JsonSchema,
  value: unknown,
  at: string,
  problems: string[],
): void {
  const schema = schemaOf(document, node);
  const types = schema.type === undefined ? [] : [schema.type].flat();
  if (value === null) {
    const alternatives = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
    const nullAllowed =
      schema.nullable === true ||
      types.includes("null") ||
      (types.length === 0 && alternatives.length === 0 && schema.allOf === undefined) ||
      alternatives.some((alternative) => {
        const resolved = schemaOf(document, alternative);
        return resolved.nullable === true || [resolved.type ?? []].flat().includes("null");
      });
    if (!nullAllowed) {
      problems.push(`${at}: null where GitHub never sends null`);
    }
    return;
  }
  for (const part of schema.allOf ?? []) {
    checkValue(document, part, value, at, problems);
  }
  const alternatives = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  if (alternatives.length > 0) {
    const attempts = alternatives.map((alternative) => {
      const found: string[] = [];
      checkValue(document, alternative, value, at, found);
      return found;
    });
    if (!attempts.some((found) => found.length === 0)) {
      const closest = attempts.sort((a, b) => a.length - b.length)[0] ?? [];
      problems.push(...closest);
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    return;
  }
  const actual = typeOf(value);
  if (
    types.length > 0 &&
    !types.includes(actual) &&
    !(actual === "integer" && types.includes("number"))
  ) {
    problems.push(`${at}: expected ${types.join(" or ")}, got ${actual}`);
    return;
  }
  if (actual === "object") {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!(name in record)) {
        problems.push(`${at}.${name}: missing (GitHub always sends it)`);
      }
    }
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (name in record) {
        checkValue(document, property, record[name], `${at}.${name}`, problems);
      }
    }
  }
  if (actual === "array" && schema.items !== undefined) {
    const items = schema.items;
    (value as unknown[]).forEach((item, i) =>
      checkValue(document, items, item, `${at}[${i}]`, problems),
    );
  }
}

/**
 * How `body` differs from the response GitHub documents for `operation` and `status` (missing
 * required fields, wrong types, values outside an enum); empty when it has GitHub's shape or the
 * description documents no JSON body for that status. Extra fields are allowed, as GitHub adds
 * fields over time.
 */
export function checkResponseShape(
  operation: RestOperation,
  status: number,
  body: unknown,
): string[] {
  const index = loadDescription(operation.description);
  const item = index.document.paths[operation.template];
  const described = item?.[ITEM_KEY[operation.method]];
  const response = described?.responses[String(status)] ?? described?.responses.default;
  if (response === undefined) {
    return [`GitHub documents no ${status} response for ${operation.method} ${operation.template}`];
  }
  const content = resolveRef(index.document, response).content ?? {};
  const schema = content["application/json"]?.schema ?? Object.values(content)[0]?.schema;
  if (schema === undefined) {
    return [];
  }
  const problems: string[] = [];
  checkValue(index.document, schema, body, "$", problems);
  return problems;
}
