import { describe, expect, it } from "vitest";
import { parseStoreUrl, redactUrl, StoreUrlError } from "../../../src/store/index.js";

describe("parseStoreUrl", () => {
  it.each([
    ["./data/kanbot.sqlite", { dialect: "sqlite", path: "./data/kanbot.sqlite" }],
    ["/var/lib/kanbot/db.sqlite", { dialect: "sqlite", path: "/var/lib/kanbot/db.sqlite" }],
    ["sqlite:./data/kanbot.sqlite", { dialect: "sqlite", path: "./data/kanbot.sqlite" }],
    ["sqlite://data/kanbot.sqlite", { dialect: "sqlite", path: "data/kanbot.sqlite" }],
    ["sqlite:///var/lib/kanbot.sqlite", { dialect: "sqlite", path: "/var/lib/kanbot.sqlite" }],
    [":memory:", { dialect: "sqlite", path: ":memory:" }],
    ["sqlite::memory:", { dialect: "sqlite", path: ":memory:" }],
    [
      "postgres://kanbot:pw@db:5432/kanbot",
      { dialect: "postgres", connectionString: "postgres://kanbot:pw@db:5432/kanbot" },
    ],
    [
      "postgresql://db/kanbot?sslmode=require",
      { dialect: "postgres", connectionString: "postgresql://db/kanbot?sslmode=require" },
    ],
  ])("reads %s", (url, expected) => {
    expect(parseStoreUrl(url)).toEqual(expected);
  });

  it.each(["", "  ", "sqlite:", "mysql://root:secret@db/kanbot"])("rejects %j", (url) => {
    expect(() => parseStoreUrl(url)).toThrow(StoreUrlError);
  });

  it("never puts a password in its error message", () => {
    expect(() => parseStoreUrl("mysql://root:secret@db/kanbot")).toThrow(/root:\*\*\*@db/);
  });
});

describe("redactUrl", () => {
  it.each([
    ["postgres://kanbot:s3cret@db:5432/kanbot", "postgres://kanbot:***@db:5432/kanbot"],
    ["postgres://kanbot@db/kanbot", "postgres://kanbot@db/kanbot"],
    ["./data/kanbot.sqlite", "./data/kanbot.sqlite"],
  ])("redacts %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
