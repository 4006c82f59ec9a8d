import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { kanbotMain } from "../../../src/commands.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function capture() {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
    },
    out: () => out,
    err: () => err,
  };
}

describe("kanbot runners (through the kanbot command line)", () => {
  it("prints a one-time registration command, lists runners, and names an unknown runner it cannot remove", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kanbot-cli-"));
    dirs.push(dir);
    const env = {
      DATABASE_URL: path.join(dir, "kanbot.sqlite"),
      KANBOT_PUBLIC_URL: "https://kanbot.example.com",
    };
    const add = capture();

    const added = await kanbotMain(["runners", "add", "workstation-1"], env, add.io);

    expect(added).toBe(0);
    expect(add.out()).toMatch(/kanbot-runner register .*--url https:\/\/kanbot\.example\.com/);
    const list = capture();
    expect(await kanbotMain(["runners", "list"], env, list.io)).toBe(0);
    const remove = capture();
    expect(await kanbotMain(["runners", "remove", "nobody"], env, remove.io)).not.toBe(0);
    expect(remove.err()).toContain("nobody");
  });

  it("refuses to run with bad settings, naming them", async () => {
    const run = capture();

    const code = await kanbotMain(["runners", "list"], { DATABASE_URL: "mysql://x" }, run.io);

    expect(code).toBe(1);
    expect(run.err()).toMatch(/^DATABASE_URL: /m);
  });
});
