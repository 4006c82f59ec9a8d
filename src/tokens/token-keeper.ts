/**
 * Where the job token broker keeps the tokens it issued until their job's lease ends:
 *
 * - `storeTokenKeeper`: in the job store, sealed (./token-seal.ts), so that every replica of the
 *   app can list a job's tokens (to redact them) and revoke them when it sees the lease end,
 *   whichever replica issued them. What `kanbot start` uses.
 * - `memoryTokenKeeper`: in this process only; revocable by this process alone, gone at a
 *   restart (the tokens then expire within the hour). For a broker built without a store.
 */
import type { JobStore } from "../store/index.js";
import { openJobToken, sealJobToken, type JobTokenKey } from "./token-seal.js";

/** A kept token; `token` is undefined when its sealed text does not open (another key). */
export interface KeptJobToken {
  id: number;
  jobId: number;
  token: string | undefined;
  expiresAt: Date;
}

export interface JobTokenKeeper {
  keep(jobId: number, token: string, expiresAt: Date): Promise<void>;
  /** The job's kept tokens, oldest first. */
  list(jobId: number): Promise<KeptJobToken[]>;
  /** Forgets these tokens; returns the ids this call removed (another replica may have first). */
  drop(ids: readonly number[]): Promise<number[]>;
}

/** The part of the job store the keeper uses. */
export type JobTokenVault = Pick<JobStore, "saveJobToken" | "listJobTokens" | "deleteJobTokens">;

export function storeTokenKeeper(store: JobTokenVault, key: JobTokenKey): JobTokenKeeper {
  return {
    async keep(jobId, token, expiresAt) {
      await store.saveJobToken({ jobId, sealed: sealJobToken(key, jobId, token), expiresAt });
    },
    async list(jobId) {
      return (await store.listJobTokens(jobId)).map((kept) => ({
        id: kept.id,
        jobId: kept.jobId,
        token: openJobToken(key, kept.jobId, kept.sealed),
        expiresAt: kept.expiresAt,
      }));
    },
    drop: (ids) => store.deleteJobTokens(ids),
  };
}

export function memoryTokenKeeper(): JobTokenKeeper {
  const kept = new Map<number, KeptJobToken>();
  let nextId = 1;
  return {
    keep(jobId, token, expiresAt) {
      const id = nextId++;
      kept.set(id, { id, jobId, token, expiresAt });
      return Promise.resolve();
    },
    list(jobId) {
      return Promise.resolve([...kept.values()].filter((entry) => entry.jobId === jobId));
    },
    drop(ids) {
      return Promise.resolve(ids.filter((id) => kept.delete(id)));
    },
  };
}
