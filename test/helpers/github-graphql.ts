/**
 * GitHub's GraphQL schema (`@octokit/graphql-schema`) as a test oracle: every document kanbot
 * sends must parse and validate against it, variables included. The schema is built once per
 * test file, on first use.
 */
import { schema as githubSchema } from "@octokit/graphql-schema";
import {
  buildClientSchema,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  validate,
  type GraphQLSchema,
  type IntrospectionQuery,
} from "graphql";

/** What a GraphQL request carries besides its document. */
export interface GraphQLRequestParts {
  /** Variables sent with the document; checked against the operation's variable definitions. */
  variables?: Record<string, unknown> | undefined;
  /** Which operation to check when the document holds several. */
  operationName?: string | undefined;
}

let schema: GraphQLSchema | undefined;

/** GitHub's GraphQL schema, built once from the introspection result `@octokit/graphql-schema` ships. */
export function githubGraphQLSchema(): GraphQLSchema {
  // The package types its JSON loosely; it is the result of GitHub's introspection query.
  const introspection: IntrospectionQuery = githubSchema.json as unknown as IntrospectionQuery;
  schema ??= buildClientSchema(introspection, { assumeValid: true });
  return schema;
}

/**
 * The errors GitHub would answer `document` with because of its text alone: syntax errors,
 * fields, arguments or types the schema does not have, and (when `variables` are given) variables
 * that are missing, unknown or of the wrong type. Empty when the document is valid.
 */
export function validateGraphQL(
  document: string,
  parts: GraphQLRequestParts = {},
): readonly GraphQLError[] {
  const schema = githubGraphQLSchema();
  let ast;
  try {
    ast = parse(document);
  } catch (error) {
    if (error instanceof GraphQLError) {
      return [error];
    }
    throw error;
  }
  const errors = validate(schema, ast);
  if (errors.length > 0 || parts.variables === undefined) {
    return errors;
  }
  const operation = getOperationAST(ast, parts.operationName);
  if (operation === null || operation === undefined) {
    return [
      new GraphQLError(`no operation named ${parts.operationName ?? "(unnamed)"} in the document`),
    ];
  }
  const declared = new Set(
    (operation.variableDefinitions ?? []).map((definition) => definition.variable.name.value),
  );
  const undeclared = Object.keys(parts.variables)
    .filter((name) => !declared.has(name))
    .map(
      (name) =>
        new GraphQLError(`Variable "$${name}" is sent but the operation does not declare it.`),
    );
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], parts.variables);
  return [...undeclared, ...(coerced.errors ?? [])];
}

/** One line per error, with its position in the document: `2:5 Cannot query field "x" on type "Issue".` */
export function formatGraphQLErrors(errors: readonly GraphQLError[]): string {
  return errors
    .map((error) => {
      const where = error.locations
        ?.map((location) => `${location.line}:${location.column}`)
        .join(", ");
      return where === undefined ? error.message : `${where} ${error.message}`;
    })
    .join("\n");
}

/** Throws with every validation error when `document` is not valid against GitHub's schema. */
export function assertValidGraphQL(document: string, parts: GraphQLRequestParts = {}): void {
  const errors = validateGraphQL(document, parts);
  if (errors.length > 0) {
    throw new Error(
      `GraphQL document is not valid against GitHub's schema:\n${formatGraphQLErrors(errors)}\n--- document ---\n${document}`,
    );
  }
}

/** The name of the document's operation (the only one, or `operationName`), if it parses and has one. */
export function graphQLOperationName(document: string, operationName?: string): string | undefined {
  try {
    return getOperationAST(parse(document), operationName)?.name?.value;
  } catch {
    return undefined;
  }
}
