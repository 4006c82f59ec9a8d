/**
 * GitHub reads a trigger needs that name only the issue and the actor, begun together so their
 * round trips overlap instead of adding up (a label used to wait for six requests one after the
 * other before its job was queued).
 *
 * The reads are served through a port wrapper: the first call of each begun read (same issue,
 * same login) gets the answer already on its way, every later call asks GitHub again. So the
 * task loop reads as before and make the same requests, only sooner.
 *
 * Reads only: nothing here writes, so beginning them before the permission check has decided
 * changes nothing a refused person can see. A read that is used fails its caller as before (and
 * so the delivery, which the inbox retries); a read nobody uses (a refused trigger's comments)
 * fails nothing. `settle()` waits for every read begun, so none outlives its delivery.
 */
import { formatIssueRef, type IssueRef, type RepoRef } from "../domain/dependencies.js";
import type { GitHubPort } from "../github/port.js";

export interface IssueReadsOptions {
  /** Whose permission to read (the trigger's actor). */
  actor: string;
  /** Also read the issue (false when the caller holds a fresh copy). Default true. */
  issue?: boolean;
}

export interface PrefetchedReads {
  /** `port`, with the begun reads served from their answers (once each). */
  port: GitHubPort;
  /** Resolves once every begun read has answered or failed; never rejects. */
  settle(): Promise<void>;
}

type ReadName = "permissionOf" | "getIssue" | "listBlockedBy" | "listSubIssues" | "listComments";

/** Begins the reads about `ref`: the actor's permission, the issue, dependencies and comments. */
export function prefetchIssueReads(
  port: GitHubPort,
  ref: IssueRef,
  options: IssueReadsOptions,
): PrefetchedReads {
  const begun: Promise<unknown>[] = [];
  const pending = new Map<string, Promise<unknown>>();
  // The permission is the repository's; the other reads are the issue's.
  const key = (name: ReadName, at: RepoRef | IssueRef, login = ""): string =>
    `${name} ${"number" in at ? formatIssueRef(at) : `${at.owner}/${at.repo}`} ${login}`.toLowerCase();
  const begin = (
    name: ReadName,
    call: () => Promise<unknown>,
    at: RepoRef | IssueRef = ref,
    login?: string,
  ): void => {
    const promise = call();
    // Handled here so that an unused failure is no unhandled rejection; the caller served this
    // promise still sees the failure.
    begun.push(promise.catch(() => undefined));
    pending.set(key(name, at, login), promise);
  };
  const repo: RepoRef = { owner: ref.owner, repo: ref.repo };
  begin("permissionOf", () => port.permissionOf(ref, options.actor), repo, options.actor);
  if (options.issue !== false) begin("getIssue", () => port.getIssue(ref));
  begin("listBlockedBy", () => port.listBlockedBy(ref));
  begin("listSubIssues", () => port.listSubIssues(ref));
  begin("listComments", () => port.listComments(ref));

  /** The begun read's answer, once; undefined when there is none (ask GitHub). */
  const take = <T>(
    name: ReadName,
    at: RepoRef | IssueRef,
    login?: string,
  ): Promise<T> | undefined => {
    const id = key(name, at, login);
    const promise = pending.get(id);
    pending.delete(id);
    return promise as Promise<T> | undefined;
  };
  const served: Pick<GitHubPort, ReadName> = {
    permissionOf: (at, login) =>
      take("permissionOf", { owner: at.owner, repo: at.repo }, login) ??
      port.permissionOf(at, login),
    getIssue: (issue) => take("getIssue", issue) ?? port.getIssue(issue),
    listBlockedBy: (issue) => take("listBlockedBy", issue) ?? port.listBlockedBy(issue),
    listSubIssues: (issue) => take("listSubIssues", issue) ?? port.listSubIssues(issue),
    listComments: (issue) => take("listComments", issue) ?? port.listComments(issue),
  };
  const wrapped = new Proxy(port, {
    get(target, property) {
      if (typeof property === "string" && Object.hasOwn(served, property)) {
        return served[property as ReadName];
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  return {
    port: wrapped,
    settle: async () => {
      await Promise.all(begun);
    },
  };
}
