import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface PackageInfo {
  /** The directory holding kanbot's package.json and app.yml. */
  root: string;
  version: string;
}

let cached: PackageInfo | undefined;

/**
 * Finds kanbot's own package.json by walking up from this file, so it works both from source
 * (src/, run by vitest or tsx) and from the build (dist/src/).
 */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "kanbot") {
        cached = { root: dir, version: pkg.version ?? "0.0.0" };
        return cached;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error("kanbot's package.json was not found above " + import.meta.url);
    dir = parent;
  }
}
