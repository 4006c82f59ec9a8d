import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runnersCommand } from "../../../src/admin/runners.js";
import { openStore, type JobStore } from "../../../src/store/index.js";
import { manualClock } from "../../helpers/store-fixtures.js";

interface Captured {
  stdout: string;
  stderr: string;
}

describe("kanbot runners", () => {
  let dir: string;
  let store: JobStore;
  const clock = manualClock();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "kanbot-admin-"));
    clock.reset();
    store = await openStore({ url: join(dir, "kanbot.sqlite"), now: clock.now });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<Captured & { code: number }> {
    const out: Captured = { stdout: "", stderr: "" };
    const code = await runnersCommand(
      argv,
      store,
      {
        stdout: { write: (text: string) => (out.stdout += text) },
        stderr: { write: (text: string) => (out.stderr += text) },
      },
      {
        registrationTokenTtlMs: 3_600_000,
        publicUrl: "https://kanbot.example.com",
        now: clock.now,
      },
    );
    return { ...out, code };
  }

  async function register(name: string, token: string) {
    return store.registerRunner({
      registrationToken: token,
      name,
      agents: ["claude", "codex"],
      labels: ["gpu"],
      repos: [],
    });
  }

  it("add prints a one-time token and how to use it with kanbot-runner register", async () => {
    const added = await run("add", "studio-mac");

    const token = /kbreg_\S+/.exec(added.stdout)?.[0] ?? "";
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      `kanbot-runner register --url https://kanbot.example.com --name studio-mac --token ${token}`,
    );
    expect(added.stdout).toContain("until 2026-01-01T01:00:00.000Z");
    const { runner } = await register("studio-mac", token);
    expect(runner.name).toBe("studio-mac");
    await expect(register("again", token)).rejects.toMatchObject({ problem: "used" });
    const audit = await store.listAudit({ action: "runner.registration-token-issued" });
    expect(audit[0]).toMatchObject({ actor: "admin", detail: { name: "studio-mac" } });
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it.each([
    [["add"], 2, /expected exactly one runner name/],
    [["add", "bad name"], 2, /not a valid runner name/],
    [["frobnicate"], 2, /unknown command "frobnicate"/],
    [[], 2, /Usage: kanbot runners/],
    [["remove"], 2, /expected one runner name or id/],
    [["remove", "ghost"], 1, /no runner is called or has the id "ghost"/],
  ])("%j exits %i with a message", async (argv, code, message) => {
    const result = await run(...argv);

    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it("list shows name, id, agents, labels, last seen and status", async () => {
    const token = /kbreg_\S+/.exec((await run("add", "box")).stdout)?.[0] ?? "";
    const { runner } = await register("box", token);
    clock.advance(90_000);

    const listed = await run("list");
    const json = await run("list", "--json");

    expect(listed.stdout.split("\n")[0]).toMatch(
      /^NAME\s+ID\s+AGENTS\s+LABELS\s+REPOS\s+LAST SEEN\s+STATUS$/,
    );
    expect(listed.stdout).toMatch(
      new RegExp(`box\\s+${runner.id}\\s+claude,codex\\s+gpu\\s+\\(all\\)\\s+1m ago\\s+active`),
    );
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        id: runner.id,
        name: "box",
        agents: ["claude", "codex"],
        revokedAt: null,
      }),
    ]);
  });

  it("list says how to add a runner when there is none", async () => {
    expect((await run("list")).stdout).toContain("kanbot runners add <name>");
  });

  it("remove revokes a runner by name or id, and says so when it already was", async () => {
    const tokenA = /kbreg_\S+/.exec((await run("add", "a")).stdout)?.[0] ?? "";
    const tokenB = /kbreg_\S+/.exec((await run("add", "b")).stdout)?.[0] ?? "";
    const a = await register("a", tokenA);
    const b = await register("b", tokenB);

    const byName = await run("remove", "a");
    const byId = await run("remove", b.runner.id);
    const again = await run("remove", "a");

    expect(byName).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`Removed runner "a" (${a.runner.id})`),
    });
    expect(byId.code).toBe(0);
    expect(again).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("was already removed"),
    });
    expect(await store.authenticateRunner(a.token)).toBeUndefined();
    expect(await store.authenticateRunner(b.token)).toBeUndefined();
    expect((await run("list")).stdout).toMatch(/a\s+.*revoked 2026-01-01/);
  });

  it("remove asks for an id when two active runners share a name", async () => {
    const first = /kbreg_\S+/.exec((await run("add", "twin")).stdout)?.[0] ?? "";
    const second = /kbreg_\S+/.exec((await run("add", "twin")).stdout)?.[0] ?? "";
    await register("twin", first);
    await register("twin", second);

    const result = await run("remove", "twin");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/2 runners are called "twin".*pass the id/);
  });
});
