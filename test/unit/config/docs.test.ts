import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

import { parseRepoConfig, RepoConfig } from "../../../src/config/repo-config.js";
import { fieldPaths } from "../../../src/config/schema-fields.js";
import { SETTING_NAMES } from "../../../src/config/settings.js";

const root = path.resolve(import.meta.dirname, "../../..");
const envExample = readFileSync(path.join(root, ".env.example"), "utf8");
const configurationDoc = readFileSync(path.join(root, "docs/configuration.md"), "utf8");

/** The YAML blocks of a markdown document. */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

describe("the docs cannot drift from the schemas", () => {
  it.each(SETTING_NAMES)(".env.example lists %s with a comment", (name) => {
    const lines = envExample.split("\n");

    const index = lines.findIndex((line) => new RegExp(`^#?\\s*${name}=`).test(line));

    expect(index, `${name}= is missing from .env.example`).toBeGreaterThan(0);
    expect(lines[index - 1], `${name} has no comment above it`).toMatch(/^#/);
  });

  it.each(SETTING_NAMES)("docs/configuration.md describes %s", (name) => {
    expect(configurationDoc).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, "m"));
  });

  it("walks every field of the kanbot.yml schema, nested ones included", () => {
    const paths = fieldPaths(RepoConfig);

    expect(paths).toContain("agents.rules[].match");
    expect(paths).toContain("board.columns.blocked");
    expect(paths).toContain("budget.lostLeases");
  });

  it.each(fieldPaths(RepoConfig))("docs/configuration.md has a row for %s", (field) => {
    expect(configurationDoc).toContain(`| \`${field}\` `);
  });

  it("documents no kanbot.yml field the schema lacks", () => {
    const known = new Set(fieldPaths(RepoConfig));
    const section = configurationDoc.slice(configurationDoc.indexOf("### Fields"));

    const documented = [...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((match) => match[1]);

    expect(documented.filter((field) => field !== undefined && !known.has(field))).toEqual([]);
  });

  it("the full example in docs/configuration.md is valid and sets every top-level field", () => {
    const [example] = yamlBlocks(configurationDoc);

    const result = parseRepoConfig(example, { knownAgents: [] });

    expect(result.ok, JSON.stringify(result.ok ? [] : result.errors)).toBe(true);
    for (const field of fieldPaths(RepoConfig).filter((name) => !name.includes("."))) {
      expect(example, `the example lacks ${field}`).toMatch(new RegExp(`^${field}:`, "m"));
    }
  });
});
