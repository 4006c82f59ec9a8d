/**
 * The port's last line of defence for repository names: every call that names a repository
 * (`{ owner, repo }`, as `RepoRef` and `IssueRef` do) is checked as GitHub allows names
 * (src/domain/repo-name.ts) before the port builds a REST path from it. The payload schemas
 * refuse such names first (src/handlers/payload-schemas.ts); this catches one from anywhere
 * else (a stored task, a GraphQL answer) with a named error instead of a reshaped API path.
 */
import { assertRepoName } from "../domain/repo-name.js";

/** `port` with every method checking the repositories its arguments name. */
export function guardRepoNames<Port extends object>(port: Port, portName: string): Port {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      return function guarded(...args: unknown[]): unknown {
        for (const arg of args) checkArgument(arg, `${portName}.${String(property)}`);
        return method.apply(target, args);
      };
    },
  });
}

function checkArgument(arg: unknown, call: string): void {
  if (typeof arg !== "object" || arg === null || !("owner" in arg) || !("repo" in arg)) return;
  const { owner, repo } = arg as { owner: unknown; repo: unknown };
  assertRepoName(owner, repo, `call ${call}`);
}
