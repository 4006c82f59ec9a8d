/**
 * Conditional REST reads (issue 15, part 4): an ETag cache for the GET reads that rarely change.
 * GitHub answers a GET whose `If-None-Match` names the current ETag with `304 Not Modified`, which
 * does not count against the primary rate limit (GitHub's "Best practices for using the REST
 * API"); kanbot then serves the body it kept from the last `200`.
 *
 * What is cached: `GET /repos/{owner}/{repo}` (default branch), `…/contents/{path}` (the
 * repository config, `.github/kanbot.yml`), `…/labels` (every page) and
 * `…/collaborators/{login}/permission`. Nothing else: issues, comments, pulls and events change
 * with every step of a task, so a conditional request would rarely save anything there.
 *
 * Keys: the installation id, the `Accept` header (a raw file and its JSON description are two
 * answers) and the full URL with its query (each page of a list is its own entry). An entry is
 * never served to another installation: the installation id is part of every key, so one
 * installation's token never reads another's data from the cache.
 *
 * Bounds: a least-recently-used map of `maxEntries` answers (default 2,000), bodies over
 * `maxBodyBytes` (default 256 KiB) are not kept. One cache serves the whole process (the
 * runtime makes it, src/inbox/kanbot-runtime.ts) across the per-event Octokit instances.
 *
 * Freshness: GitHub decides. A `200` replaces the entry, a `304` serves it, a `404`/`410` drops
 * it; an answer without an ETag is passed on and not kept. A new installation token may get a
 * `200` where the old one got a `304` (GitHub's ETags vary with the credential): that is a miss,
 * never stale data.
 */
import type { InstallationOctokit } from "./octokit-port.js";

/** A kept answer: what the request resolved to last time it was a `200`. */
interface CachedAnswer {
  etag: string;
  status: number;
  url: string;
  headers: Record<string, unknown>;
  data: unknown;
}

export interface EtagCacheOptions {
  /** How many answers are kept (least recently used dropped first); default 2,000. */
  maxEntries?: number;
  /** Larger bodies (bytes of their JSON) are not kept; default 256 KiB. */
  maxBodyBytes?: number;
}

/** What a cache did, for tests and logs. */
export interface EtagCacheStats {
  /** Answers served from the cache after a `304`. */
  hits: number;
  /** Cacheable reads sent without an entry, or whose entry GitHub replaced with a `200`. */
  misses: number;
  entries: number;
}

/** The REST paths whose GETs are cached (relative to the API root; GHES's `/api/v3` is stripped). */
const CACHEABLE_PATH =
  /^\/repos\/[^/]+\/[^/]+(?:\/contents(?:\/.*)?|\/labels|\/collaborators\/[^/]+\/permission)?$/;

/** Whether a GET of `url` (absolute, as Octokit builds it) is one the cache keeps. */
export function isCacheableRead(method: string, url: string): boolean {
  if (method.toUpperCase() !== "GET") return false;
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return false;
  }
  return CACHEABLE_PATH.test(pathname.replace(/^\/api\/v3(?=\/)/, ""));
}

/** A bounded LRU map of conditional-request answers; see the file's comment. */
export class EtagCache {
  readonly #entries = new Map<string, CachedAnswer>();
  readonly #maxEntries: number;
  readonly #maxBodyBytes: number;
  #hits = 0;
  #misses = 0;

  constructor(options: EtagCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 2000);
    this.#maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  }

  stats(): EtagCacheStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size };
  }

  /** The key of a read: installation, `Accept` and URL. */
  static key(installationId: number, accept: string, url: string): string {
    return `${installationId}\n${accept}\n${url}`;
  }

  /** The entry, marked as the most recently used. */
  get(key: string): CachedAnswer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, answer: CachedAnswer): void {
    this.#entries.delete(key);
    if (bodyBytes(answer.data) > this.#maxBodyBytes) return;
    this.#entries.set(key, answer);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Counts a served `304` or a miss. */
  count(outcome: "hit" | "miss"): void {
    if (outcome === "hit") this.#hits += 1;
    else this.#misses += 1;
  }
}

function bodyBytes(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  return Buffer.byteLength(JSON.stringify(data) ?? "");
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Octokits that already carry the cache's hook (a second wrap would ask twice). */
const wrapped = new WeakSet<object>();

/**
 * Makes `octokit` (one installation's) send its cacheable GETs conditionally through `cache`:
 * an `If-None-Match` with the kept ETag, and the kept answer (a copy) when GitHub says `304`.
 * The hook wraps every request, Octokit's own plugins (retry, throttling, logging) inside it, so
 * a `304` never reaches the port's error handling.
 */
export function installEtagCache(
  octokit: InstallationOctokit,
  cache: EtagCache,
  installationId: number,
): void {
  if (wrapped.has(octokit)) return;
  wrapped.add(octokit);
  octokit.hook.wrap("request", async (request, options) => {
    const { method, url, headers } = octokit.request.endpoint.parse(options);
    if (!isCacheableRead(method, url)) return request(options);
    const key = EtagCache.key(installationId, String(headers.accept ?? ""), url);
    const kept = cache.get(key);
    // In place: the hooks inside this one were bound to this very options object
    // (before-after-hook), so a copy would not reach GitHub.
    if (kept !== undefined) options.headers["if-none-match"] = kept.etag;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(options);
    } catch (error) {
      const status = statusOf(error);
      if (kept !== undefined && status === 304) {
        cache.count("hit");
        return {
          status: kept.status,
          url: kept.url,
          headers: structuredClone(kept.headers),
          data: structuredClone(kept.data),
        } as Awaited<ReturnType<typeof request>>;
      }
      if (status === 404 || status === 410) cache.delete(key);
      throw error;
    }
    cache.count("miss");
    const etag = (response.headers as Record<string, unknown>).etag;
    if (response.status === 200 && typeof etag === "string" && etag !== "") {
      cache.set(key, {
        etag,
        status: response.status,
        url: response.url,
        headers: structuredClone(response.headers as Record<string, unknown>),
        data: structuredClone(response.data as unknown),
      });
    } else {
      cache.delete(key);
    }
    return response;
  });
}
