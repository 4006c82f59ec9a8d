/** A check that an enum-like column holds a word of the domain vocabulary (rows.ts, task-record.ts). */
export function oneOf<T extends string>(values: readonly T[], value: string, column: string): T {
  const found = values.find((candidate) => candidate === value);
  if (found === undefined) {
    throw new Error(
      `the store holds ${JSON.stringify(value)} in ${column}, which this kanbot version does ` +
        "not know; upgrade kanbot or repair the row",
    );
  }
  return found;
}
