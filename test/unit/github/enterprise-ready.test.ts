/**
 * GitHub Enterprise Server works through Probot's base URL (DESIGN section 5): no file of src/
 * may name github.com's API host, or every call it makes would skip the GHES host.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Files allowed to name the host, with the reason: the composition root derives Probot's base
 * URL from GHE_HOST, and github.com's API is the default when it is unset.
 */
const ALLOWED = new Set(["src/main.ts"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : /\.[cm]?ts$/.test(entry.name) ? [path] : [];
  });
}

describe("GitHub Enterprise Server", () => {
  it("no file of src/ hard-codes api.github.com (but the one that reads GHE_HOST)", () => {
    const sources = files(join(ROOT, "src")).filter((path) => !ALLOWED.has(relative(ROOT, path)));

    const offenders = sources.flatMap((path) =>
      readFileSync(path, "utf8")
        .split("\n")
        .flatMap((line, i) =>
          /api\.github\.com/i.test(line)
            ? [`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`]
            : [],
        ),
    );

    expect(offenders).toEqual([]);
  });
});
