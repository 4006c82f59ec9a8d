/**
 * A minimal glob matcher for repository paths (picomatch is not a dependency, and Node 20's
 * `path.matchesGlob` is experimental and warns). Patterns match the whole path, `/`-separated:
 *
 * - `**` as a whole segment matches any number of segments (zero included): `.github/workflows/**`,
 *   `** /secrets/*` (without the space), `a/** /b`.
 * - `*` matches any characters but `/`; `?` one character but `/`.
 * - `{a,b}` matches either alternative (no nesting); `[abc]`, `[a-z]`, `[!a]` match one character.
 * - A pattern ending in `/` means everything under that folder.
 *
 * Dotfiles match like any other name (a deny list should not miss `.env`). Everything else is
 * literal.
 */

/** Compiles a glob to an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let glob = pattern.trim().replace(/^\.\//, "").replace(/^\/+/, "");
  if (glob.endsWith("/")) glob += "**";
  const segments = glob.split("/");
  let source = "";
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === "**") {
      // Zero or more whole segments, with their separators.
      source += last ? (index === 0 ? ".*" : "(?:/.*)?") : index === 0 ? "(?:.*/)?" : "(?:/.*)?/";
      return;
    }
    if (index > 0 && segments[index - 1] !== "**") source += "/";
    source += segmentSource(segment);
  });
  // `a/**/b`: the `**` already closed with a separator; collapse a doubled one.
  source = source.replace(/\/\//g, "/");
  return new RegExp(`^${source}$`, "u");
}

/** Whether `path` matches `pattern`. */
export function matchesGlob(path: string, pattern: string): boolean {
  return globToRegExp(pattern).test(normalise(path));
}

/** The paths matching any of the patterns, sorted, each once. */
export function pathsMatching(paths: readonly string[], patterns: readonly string[]): string[] {
  const compiled = patterns.map(globToRegExp);
  const hits = new Set<string>();
  for (const path of paths) {
    const normalised = normalise(path);
    if (compiled.some((regex) => regex.test(normalised))) hits.add(path);
  }
  return [...hits].sort();
}

function normalise(path: string): string {
  return path.replace(/\\/g, "/").replace(/^\.\//, "");
}

function segmentSource(segment: string): string {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i] as string;
    if (char === "*") {
      // `**` inside a segment (`a**b`) behaves like `*`.
      while (segment[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (char === "?") {
      out += "[^/]";
    } else if (char === "{") {
      const close = segment.indexOf("}", i);
      if (close === -1) {
        out += escape(char);
        continue;
      }
      const alternatives = segment.slice(i + 1, close).split(",");
      out += `(?:${alternatives.map(segmentSource).join("|")})`;
      i = close;
    } else if (char === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close === -1) {
        out += escape(char);
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      const escaped = body.replace(/[\\\]^]/g, "\\$&");
      out += negated ? `[^/${escaped}]` : `[${escaped}]`;
      i = close;
    } else {
      out += escape(char);
    }
  }
  return out;
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
