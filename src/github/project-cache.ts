/**
 * The boards kanbot found (issue 15, part 4): a Projects v2 project's id, its single-select
 * fields and their option ids, kept per installation and project so that an event does not ask
 * GitHub's `FindProject` query again for a board that has not changed. GraphQL has no
 * conditional requests, so freshness comes from invalidation:
 *
 * - a board mutation that fails (adding an item, setting a field: a field or option deleted
 *   since) drops the board, and the retry reads it again (src/github/octokit-port.ts);
 * - a column or field the cached board lacks is looked up once more, fresh, before the board
 *   update is skipped (src/tasks/effects/board.ts), so a column added a minute ago is found;
 * - an entry lives `ttlMs` (default 10 minutes) at most: kanbot handles no `projects_v2` event
 *   (src/inbox/route-event.ts routes only `projects_v2_item.edited`), so a renamed field or
 *   option is seen at the latest then.
 *
 * Keys: installation id, owner (case-insensitive) and project number; one installation's boards
 * are never served to another. Bounded: `maxEntries` (default 1,000), least recently used first
 * out. A project that was not found is not kept (it may be created or shared with the app any
 * time). One cache serves the whole process (src/inbox/kanbot-runtime.ts makes it).
 */
import type { ProjectBoard } from "./port.js";

export interface ProjectCacheOptions {
  /** How long a board is kept; default 10 minutes. */
  ttlMs?: number;
  /** How many boards are kept; default 1,000. */
  maxEntries?: number;
  /** The clock (milliseconds); default `Date.now`. */
  now?: () => number;
}

interface Entry {
  board: ProjectBoard;
  expiresAt: number;
}

export const PROJECT_CACHE_TTL_MS = 10 * 60_000;

export class ProjectCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: ProjectCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? PROJECT_CACHE_TTL_MS;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 1000);
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy of the kept board marked `cached`, or undefined (none, or expired). */
  get(installationId: number, owner: string, number: number): ProjectBoard | undefined {
    const key = keyOf(installationId, owner, number);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return { ...structuredClone(entry.board), cached: true };
  }

  set(installationId: number, owner: string, number: number, board: ProjectBoard): void {
    const key = keyOf(installationId, owner, number);
    this.#entries.delete(key);
    const { cached: _cached, ...fresh } = board;
    this.#entries.set(key, {
      board: structuredClone(fresh),
      expiresAt: this.#now() + this.#ttlMs,
    });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Drops the board (a mutation on it failed, or it is known to have changed). */
  forget(installationId: number, owner: string, number: number): void {
    this.#entries.delete(keyOf(installationId, owner, number));
  }
}

function keyOf(installationId: number, owner: string, number: number): string {
  return `${installationId}:${owner.toLowerCase()}/${number}`;
}
