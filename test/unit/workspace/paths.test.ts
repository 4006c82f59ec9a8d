import { describe, expect, it } from "vitest";

import { checkRepoRelativePath } from "../../../runner/workspace/copy-files.js";
import { WorkspaceError } from "../../../runner/workspace/errors.js";
import { KeyedMutex } from "../../../runner/workspace/keyed-mutex.js";
import { cloneUrlOf } from "../../../runner/workspace/workspaces.js";

describe("checkRepoRelativePath", () => {
  it.each([
    [".env", ".env"],
    ["./config/.env.local", "config/.env.local"],
    ["certs/", "certs"],
  ])("accepts %j as %j", (path, normalised) => {
    expect(checkRepoRelativePath(path)).toBe(normalised);
  });

  it.each([
    "/etc/passwd",
    "../secrets",
    "a/../../b",
    ".git/config",
    "a/.git/hooks",
    "",
    "~/.ssh/id_rsa",
    "C:/x",
  ])("refuses %j", (path) => {
    expect(() => checkRepoRelativePath(path)).toThrow(WorkspaceError);
  });
});

describe("cloneUrlOf", () => {
  it("builds the URL from the base and the repository", () => {
    expect(cloneUrlOf({ owner: "acme", name: "app" })).toBe("https://github.com/acme/app.git");
    expect(cloneUrlOf({ owner: "acme", name: "app" }, "https://ghe.example.com/")).toBe(
      "https://ghe.example.com/acme/app.git",
    );
  });

  it("refuses a URL with credentials in it", () => {
    expect(() =>
      cloneUrlOf({
        owner: "a",
        name: "b",
        cloneUrl: "https://x-access-token:ghs_x@github.com/a/b.git",
      }),
    ).toThrow(/carries credentials/);
  });
});

describe("KeyedMutex", () => {
  it("runs operations on one key one at a time, in order, and other keys alongside", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });

    const first = mutex.run("a", async () => {
      events.push("a1 start");
      await firstHeld;
      events.push("a1 end");
    });
    const second = mutex.run("a", async () => {
      events.push("a2");
    });
    await mutex.run("b", async () => {
      events.push("b");
    });
    releaseFirst();
    await Promise.all([first, second]);

    expect(events).toEqual(["a1 start", "b", "a1 end", "a2"]);
    expect(mutex.isLocked("a")).toBe(false);
  });

  it("releases the key when an operation fails", async () => {
    const mutex = new KeyedMutex();

    await expect(mutex.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow(
      "boom",
    );
    const after = await mutex.run("a", async () => "next");

    expect(after).toBe("next");
  });
});
