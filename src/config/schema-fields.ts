/**
 * Walking a zod schema: the field names at a path (for "did you mean" on unknown keys) and every
 * field path in a schema (so tests can prove the docs list them all).
 */
import { z } from "zod";

/** The schema under wrappers that do not change the shape: optional, default, nullable, pipe… */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodReadonly
  ) {
    return unwrapSchema(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrapSchema(schema.in as z.ZodType);
  return schema;
}

/**
 * The schema found by following `path` (object keys and array indices) from `schema`, or undefined
 * when the path leaves the schema.
 */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrapSchema(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject && typeof segment === "string") {
      const shape: Record<string, z.ZodType> = current.shape;
      const next = Object.hasOwn(shape, segment) ? shape[segment] : undefined;
      current = next === undefined ? undefined : unwrapSchema(next);
    } else if (current instanceof z.ZodArray && typeof segment === "number") {
      current = unwrapSchema(current.element as z.ZodType);
    } else {
      return undefined;
    }
  }
  return current;
}

/** The field names of the object schema at `path`, or none when it is not an object. */
export function fieldNamesAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const found = schemaAt(schema, path);
  return found instanceof z.ZodObject ? Object.keys(found.shape) : [];
}

/**
 * Every field path in an object schema, depth first: `budget`, `budget.attempts`,
 * `agents.rules[].match`… (a list of objects contributes its element's fields after `[]`).
 */
export function fieldPaths(schema: z.ZodType, prefix = ""): string[] {
  const current = unwrapSchema(schema);
  if (current instanceof z.ZodArray) {
    return fieldPaths(current.element as z.ZodType, `${prefix}[]`);
  }
  if (!(current instanceof z.ZodObject)) return [];
  const shape: Record<string, z.ZodType> = current.shape;
  return Object.entries(shape).flatMap(([name, field]) => {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    const nested = fieldPaths(field, path).filter((child) => child !== `${path}[]`);
    return [path, ...nested];
  });
}
