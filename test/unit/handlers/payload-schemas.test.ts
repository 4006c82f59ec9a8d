import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { PAYLOAD_SCHEMAS, payloadProblem } from "../../../src/handlers/payload-schemas.js";
import { handledEventKeys } from "../../../src/inbox/route-event.js";

interface WebhookDefinition {
  name: string;
  examples: ({ action?: string } & Record<string, unknown>)[];
}

const definitions = createRequire(import.meta.url)(
  "@octokit/webhooks-examples",
) as WebhookDefinition[];

/** GitHub's examples of `key` (`event.action`); an action GitHub has no example of (issues.closed) takes every example of its event, which carries the same issue, repository and sender. */
function examplesOf(key: string): WebhookDefinition["examples"] {
  const [event = "", action] = key.split(".");
  const all = definitions.find((definition) => definition.name === event)?.examples ?? [];
  const exact = all.filter((example) => action === undefined || example.action === action);
  return exact.length > 0 ? exact : all;
}

/** GitHub's first example of `key`, copied, for a test to break. */
function example(key: string): Record<string, unknown> {
  return structuredClone(examplesOf(key)[0] ?? {}) as Record<string, unknown>;
}

function split(key: string): [string, string | undefined] {
  const [event = "", action] = key.split(".");
  return [event, action];
}

describe("payload schemas", () => {
  it("has a schema for every GitHub event kanbot handles", () => {
    const github = handledEventKeys().filter((key) => !key.startsWith("kanbot_"));

    expect(Object.keys(PAYLOAD_SCHEMAS).sort()).toEqual(github.sort());
  });

  it.each(Object.keys(PAYLOAD_SCHEMAS))("accepts every GitHub example of %s", (key) => {
    const examples = examplesOf(key);

    const problems = examples.map((payload) => payloadProblem(...split(key), payload as unknown));

    expect(examples.length).toBeGreaterThan(0);
    expect(problems).toEqual(examples.map(() => undefined));
  });

  // The tests break GitHub's example on purpose, in ways its type forbids.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const issue = (change: (payload: Record<string, any>) => void): Record<string, unknown> => {
    const payload = example("issues.labeled");
    change(payload);
    return payload;
  };

  it.each([
    [
      "a numeric string issue number",
      issue((p) => (p.issue.number = "15")),
      /^issue\.number: expected number, received string$/,
    ],
    ["no issue", issue((p) => delete p.issue), /^issue: missing \(expected object\)$/],
    ["no repository", issue((p) => delete p.repository), /^repository: missing/],
    ["no sender", issue((p) => delete p.sender), /^sender: missing/],
    [
      "a numeric label name",
      issue((p) => (p.label.name = 5)),
      /^label\.name: expected string, received number$/,
    ],
    [
      "a repository named ..",
      issue((p) => {
        p.repository.name = "..";
        p.repository.full_name = `${p.repository.owner.login}/..`;
      }),
      /^repository\.name: expected a repository name other than/,
    ],
    [
      "an owner with a slash",
      issue((p) => {
        p.repository.owner.login = "a/b";
        p.repository.full_name = "a/b/Hello-World";
      }),
      /^repository\.owner\.login: expected a GitHub owner/,
    ],
    [
      "a full_name that is not owner/name",
      issue((p) => (p.repository.full_name = "other/repo")),
      /^repository\.full_name: expected full_name to be owner\.login\/name$/,
    ],
    [
      "an issue number past the store's integer",
      issue((p) => (p.issue.number = 2 ** 31)),
      /^issue\.number: /,
    ],
    ["a fractional issue number", issue((p) => (p.issue.number = 1.5)), /^issue\.number: /],
  ])("refuses issues.labeled with %s, naming the field", (_name, payload, expected) => {
    expect(payloadProblem("issues", "labeled", payload)).toMatch(expected);
  });

  it.each([
    ["null", null],
    ["a string", "hello"],
    ["an array", [1, 2]],
    ["a number", 42],
  ])("refuses %s as a payload of any event", (_name, payload) => {
    expect(payloadProblem("issues", "labeled", payload)).toBe("(payload): expected a JSON object");
    expect(payloadProblem("installation", "created", payload)).toBe(
      "(payload): expected a JSON object",
    );
  });

  it("refuses kanbot's own inbox events coming from outside", () => {
    expect(payloadProblem("kanbot_job", "finished", { jobId: 1 })).toMatch(/^\(event\): /);
  });

  it("lets events kanbot does not handle through (they are recorded and skipped)", () => {
    expect(payloadProblem("installation", "created", {})).toBeUndefined();
    expect(payloadProblem("issues", "opened", {})).toBeUndefined();
  });

  it("refuses a check_run with a SHA that is not hex and a push without its head", () => {
    const run = example("check_run.completed") as { check_run: { head_sha: string } };
    run.check_run.head_sha = "../../etc";
    const push = example("push");
    delete push.after;

    expect(payloadProblem("check_run", "completed", run)).toMatch(/^check_run\.head_sha: /);
    expect(payloadProblem("push", undefined, push)).toMatch(/^after: missing/);
  });
});
