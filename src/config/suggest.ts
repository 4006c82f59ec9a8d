/**
 * Small helpers for error messages a person can act on: the closest known name to a typo, and a
 * short, quoted rendering of a value someone wrote.
 */

/**
 * Optimal string alignment distance: Levenshtein plus adjacent transpositions, so `agnets` is one
 * edit from `agents` and `cladue` one edit from `claude`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 0; i < rows; i++) d[i]![0] = i;
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate most likely meant by `name`, or undefined when none is close enough to be a
 * likely typo (at most `maxDistance` edits, and fewer than half the name's length). A candidate that differs
 * only in case is suggested; the name itself never is.
 */
export function closestName(
  name: string,
  candidates: readonly string[],
  maxDistance = 2,
): string | undefined {
  const wanted = name.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  if (best === undefined) return undefined;
  if (best.candidate === name) return undefined;
  const limit = Math.max(0, Math.min(maxDistance, Math.ceil(wanted.length / 2) - 1));
  return best.distance <= limit ? best.candidate : undefined;
}

/** ` (did you mean "x"?)` when a close candidate exists, else an empty string. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const suggestion = closestName(name, candidates);
  return suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
}

const MAX_SHOWN = 60;

/**
 * A short description of a value someone wrote, for "got …" in messages: strings quoted (and
 * cut to a readable length), lists and mappings named rather than dumped.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "nothing (null)";
  if (typeof value === "string") {
    const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(shown);
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}
