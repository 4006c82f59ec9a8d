/**
 * `DATABASE_URL` -> which engine and where. Pure, so the accepted spellings are unit-tested.
 */
import { StoreUrlError } from "./errors.js";
import type { StoreDialect } from "./migrations.js";

/** The database the app uses when `DATABASE_URL` is not set. */
export const DEFAULT_DATABASE_URL = "./data/kanbot.sqlite";

export type StoreLocation =
  | { dialect: Extract<StoreDialect, "sqlite">; /** a file path or `:memory:` */ path: string }
  | { dialect: Extract<StoreDialect, "postgres">; connectionString: string };

/**
 * Accepts `postgres://…` / `postgresql://…`, `sqlite:<path>` (also `sqlite://<path>` and
 * `sqlite:///<absolute path>`), `:memory:`, or a plain file path.
 */
export function parseStoreUrl(url: string): StoreLocation {
  const trimmed = url.trim();
  if (trimmed === "") {
    throw new StoreUrlError(url, "it is empty");
  }
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    return { dialect: "postgres", connectionString: trimmed };
  }
  if (/^sqlite:/i.test(trimmed)) {
    let path = trimmed.slice("sqlite:".length);
    if (path.startsWith("//")) {
      path = path.slice(2);
    }
    if (path === "") {
      throw new StoreUrlError(url, "it names no SQLite file");
    }
    return { dialect: "sqlite", path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed);
  if (scheme) {
    throw new StoreUrlError(redactUrl(trimmed), `the scheme "${scheme[1]}" is not supported`);
  }
  return { dialect: "sqlite", path: trimmed };
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
