import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../../..");

interface CopyInstruction {
  line: number;
  sources: string[];
  fromStage: string | undefined;
}

/** The COPY instructions of a Dockerfile, with continuation lines joined. */
function parseCopies(dockerfile: string): CopyInstruction[] {
  const copies: CopyInstruction[] = [];
  const lines = dockerfile.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] ?? "";
    const start = i;
    while (text.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      text = text.trimEnd().slice(0, -1) + " " + (lines[++i] ?? "");
    }
    const words = text.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== "COPY") continue;
    const flags = words.slice(1).filter((w) => w.startsWith("--"));
    const paths = words.slice(1).filter((w) => !w.startsWith("--"));
    const from = flags.find((f) => f.startsWith("--from="));
    copies.push({
      line: start + 1,
      sources: paths.slice(0, -1),
      fromStage: from?.slice("--from=".length),
    });
  }
  return copies;
}

describe("Dockerfile", () => {
  const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
  const copies = parseCopies(dockerfile);

  it("copies from the build context only paths that exist in the repository", () => {
    const fromContext = copies.filter((c) => c.fromStage === undefined);

    const missing = fromContext.flatMap((c) =>
      c.sources
        .filter((source) => !existsSync(path.join(root, source)))
        .map((source) => `line ${c.line}: ${source}`),
    );

    expect(fromContext.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it("copies from stages that the Dockerfile defines", () => {
    const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);

    const unknown = copies.filter(
      (c) => c.fromStage !== undefined && !stages.includes(c.fromStage),
    );

    expect(unknown).toEqual([]);
  });

  it("runs as a non-root user, binds all interfaces and checks Probot's /ping", () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);

    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/ping/m);
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]/m);
  });

  it("detects a COPY of a missing path (the check itself can fail)", () => {
    const copiesOfBad = parseCopies("FROM x AS a\nCOPY does-not-exist \\\n  other ./\n");

    expect(copiesOfBad).toEqual([
      { line: 2, sources: ["does-not-exist", "other"], fromStage: undefined },
    ]);
    expect(existsSync(path.join(root, "does-not-exist"))).toBe(false);
  });
});
