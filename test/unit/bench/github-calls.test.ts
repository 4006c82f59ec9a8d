/** The github-budget benchmark's classification of the app's GitHub requests (issue 15). */
import { describe, expect, it } from "vitest";

import {
  classify,
  endpoint,
  minimumSecondsForWrites,
  tally,
  tasksPerHourCeiling,
  type TracedCall,
} from "../../../bench/lib/github-calls.js";

const rest = (method: string, path: string, status = 200): TracedCall => ({
  method,
  path,
  status,
});
const graphql = (kind: "query" | "mutation", operation?: string): TracedCall => ({
  method: "POST",
  path: "/api/graphql",
  graphqlKind: kind,
  status: 200,
  ...(operation ? { operation } : {}),
});

describe("classify", () => {
  it("counts REST writes and mutations as content-generating, a GraphQL query POST as a read", () => {
    expect(classify(rest("PATCH", "/api/v3/repos/o/r/issues/comments/7"))).toBe("rest-write");
    expect(classify(rest("DELETE", "/api/v3/repos/o/r/issues/1/labels/agent%3Aready"))).toBe(
      "rest-write",
    );
    expect(classify(rest("GET", "/api/v3/repos/o/r/labels"))).toBe("rest-read");
    expect(classify(graphql("mutation", "SetSingleSelect"))).toBe("graphql-mutation");
    expect(classify(graphql("query", "FindProject"))).toBe("graphql-query");
  });

  it("keeps 304s, refusals, the app's JWT calls and git apart", () => {
    expect(classify(rest("GET", "/api/v3/repos/o/r/contents/x", 304))).toBe("conditional-304");
    expect(classify({ ...rest("POST", "/api/v3/repos/o/r/pulls", 403), rateLimited: true })).toBe(
      "limited",
    );
    expect(classify(rest("POST", "/api/v3/app/installations/3/access_tokens", 201))).toBe("app");
    expect(classify(rest("POST", "/o/r.git/git-receive-pack"))).toBe("git");
    expect(classify(rest("GET", "/o/r.git/info/refs"))).toBe("git");
  });
});

describe("endpoint", () => {
  it("names the variable parts of a path", () => {
    expect(endpoint(rest("DELETE", "/api/v3/repos/o/r/issues/12/labels/agent%3Aready"))).toBe(
      "DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}",
    );
    expect(endpoint(rest("GET", "/api/v3/repos/o/r/contents/.github/kanbot.yml"))).toBe(
      "GET /repos/{owner}/{repo}/contents/{path}",
    );
    expect(endpoint(rest("DELETE", "/api/v3/repos/o/r/git/refs/heads%2Fkanbot%2F1-x"))).toBe(
      "DELETE /repos/{owner}/{repo}/git/refs/{ref}",
    );
    expect(endpoint(graphql("mutation", "AddProjectItem"))).toBe("graphql mutation AddProjectItem");
    expect(endpoint(graphql("query"))).toBe("graphql query (anonymous)");
  });
});

describe("tally", () => {
  it("sums writes and counted requests, most frequent endpoint first", () => {
    const result = tally([
      rest("POST", "/api/v3/repos/o/r/issues/1/labels"),
      rest("POST", "/api/v3/repos/o/r/issues/2/labels"),
      graphql("mutation", "SetSingleSelect"),
      rest("GET", "/api/v3/repos/o/r/labels"),
      rest("GET", "/api/v3/repos/o/r/labels", 304),
      graphql("query", "FindProject"),
      rest("POST", "/o/r.git/git-upload-pack"),
    ]);
    expect(result.writes).toBe(3);
    expect(result.counted).toBe(5);
    expect(result.counts["conditional-304"]).toBe(1);
    expect(result.counts.git).toBe(1);
    expect(result.byEndpoint[0]).toEqual({
      endpoint: "POST /repos/{owner}/{repo}/issues/{n}/labels",
      class: "rest-write",
      count: 2,
    });
  });
});

describe("GitHub's content budget", () => {
  it("gives the tasks an hour 500 writes allow", () => {
    expect(tasksPerHourCeiling(25)).toBe(20);
    expect(tasksPerHourCeiling(8)).toBe(62.5);
  });

  it("schedules writes under 80 a minute and 500 an hour", () => {
    expect(minimumSecondsForWrites(0)).toBe(0);
    expect(minimumSecondsForWrites(80)).toBe(0);
    expect(minimumSecondsForWrites(81)).toBe(60);
    expect(minimumSecondsForWrites(180)).toBe(120);
    // 500 in the first 6 minutes (80 each), then the 501st waits for the first to leave the hour.
    expect(minimumSecondsForWrites(500)).toBe(360);
    expect(minimumSecondsForWrites(501)).toBe(3600);
  });
});
