/**
 * Failure classes (issue 14, part 1): each CLI's real errors (test/fixtures/agent-errors/, each
 * with a `.source.md` naming the CLI version and the file the text comes from; a few captured
 * ones from test/fixtures/agents/) go through the CLI's own adapter parser, as the runner reads
 * them, and come out with the right class, the CLI's message and a quota's reset time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { adapterFor } from "../../../runner/agents/index.js";
import {
  classifyFailure,
  resetTimeIn,
  type FailureClass,
} from "../../../runner/agents/failure-class.js";
import type { AgentExit } from "../../../runner/agents/types.js";
import { FAILURE_CLASSES } from "../../../src/protocol/index.js";
import { AGENT_FAILURE_CLASSES } from "../../../src/domain/task.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures");

interface Case {
  agent: "claude" | "codex" | "gemini" | "opencode" | "my-agent";
  file: string;
  exitCode: number;
  expected: FailureClass;
  /** A part of the CLI's message the failure must carry. */
  says: string;
  resetAt?: string;
}

const CASES: Case[] = [
  // Claude Code 2.1.197
  {
    agent: "claude",
    file: "agents/claude/error-not-logged-in.jsonl",
    exitCode: 1,
    expected: "auth",
    says: "Not logged in",
  },
  {
    agent: "claude",
    file: "agent-errors/claude/auth-invalid-api-key.jsonl",
    exitCode: 1,
    expected: "auth",
    says: "Invalid API key",
  },
  {
    agent: "claude",
    file: "agent-errors/claude/quota-usage-limit.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "You've hit your limit",
    resetAt: "2026-12-09T15:00:00.000Z",
  },
  {
    agent: "claude",
    file: "agent-errors/claude/quota-credit-balance.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "Credit balance is too low",
  },
  {
    agent: "claude",
    file: "agent-errors/claude/transient-overloaded.jsonl",
    exitCode: 1,
    expected: "transient",
    says: "Repeated 529 Overloaded errors",
  },
  {
    agent: "claude",
    file: "agents/claude/error-api-unreachable.jsonl",
    exitCode: 1,
    expected: "transient",
    says: "Unable to connect to API",
  },
  {
    agent: "claude",
    file: "agents/claude/error-max-turns.jsonl",
    exitCode: 1,
    expected: "task",
    says: "Reached maximum number of turns",
  },
  // Codex 0.169.0
  {
    agent: "codex",
    file: "agent-errors/codex/auth-401.jsonl",
    exitCode: 1,
    expected: "auth",
    says: "unexpected status 401 Unauthorized",
  },
  {
    agent: "codex",
    file: "agent-errors/codex/quota-usage-limit.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "You've hit your usage limit",
  },
  {
    agent: "codex",
    file: "agent-errors/codex/quota-exceeded.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "Quota exceeded",
  },
  {
    agent: "codex",
    file: "agent-errors/codex/transient-stream.jsonl",
    exitCode: 1,
    expected: "transient",
    says: "stream disconnected before completion",
  },
  {
    agent: "codex",
    file: "agent-errors/codex/task-context-window.jsonl",
    exitCode: 1,
    expected: "task",
    says: "ran out of room",
  },
  // Gemini CLI 0.61.0
  {
    agent: "gemini",
    file: "agent-errors/gemini/auth-no-method.jsonl",
    exitCode: 41,
    expected: "auth",
    says: "Please set an Auth method",
  },
  {
    agent: "gemini",
    file: "agent-errors/gemini/quota-retry-in.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "exceeded your current quota",
  },
  {
    agent: "gemini",
    file: "agent-errors/gemini/quota-daily.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "exhausted your daily quota",
  },
  {
    agent: "gemini",
    file: "agent-errors/gemini/transient-unavailable.jsonl",
    exitCode: 1,
    expected: "transient",
    says: "The model is overloaded",
  },
  {
    agent: "gemini",
    file: "agent-errors/gemini/task-max-turns.jsonl",
    exitCode: 53,
    expected: "task",
    says: "Reached max session turns",
  },
  // OpenCode 1.18.33
  {
    agent: "opencode",
    file: "agent-errors/opencode/auth-provider.jsonl",
    exitCode: 1,
    expected: "auth",
    says: "No API key found",
  },
  {
    agent: "opencode",
    file: "agent-errors/opencode/auth-401.jsonl",
    exitCode: 1,
    expected: "auth",
    says: "invalid x-api-key",
  },
  {
    agent: "opencode",
    file: "agent-errors/opencode/quota-usage-limit.jsonl",
    exitCode: 1,
    expected: "quota",
    says: "usage limit reached",
  },
  {
    agent: "opencode",
    file: "agent-errors/opencode/transient-unreachable.jsonl",
    exitCode: 1,
    expected: "transient",
    says: "Cannot connect to API",
  },
  {
    agent: "opencode",
    file: "agent-errors/opencode/task-context-overflow.jsonl",
    exitCode: 1,
    expected: "task",
    says: "Input exceeds context window",
  },
  // Any program (the generic command adapter): a real CLI's error passed on on stderr
  {
    agent: "my-agent",
    file: "agent-errors/command/auth-not-logged-in.stderr",
    exitCode: 1,
    expected: "auth",
    says: "Not logged in",
  },
  {
    agent: "my-agent",
    file: "agent-errors/command/quota-429.stderr",
    exitCode: 1,
    expected: "quota",
    says: "rate_limit_error",
  },
  {
    agent: "my-agent",
    file: "agent-errors/command/transient-econnreset.stderr",
    exitCode: 1,
    expected: "transient",
    says: "fetch failed",
  },
  {
    agent: "my-agent",
    file: "agent-errors/command/task-tests-failed.stderr",
    exitCode: 1,
    expected: "task",
    says: "3 of 120 tests failed",
  },
];

/** Runs a fixture through its agent's parser as the runner would, and ends it with `exitCode`. */
function parse(entry: Case, reason: AgentExit["reason"] = "exit") {
  const text = readFileSync(join(FIXTURES, entry.file), "utf8");
  const parser = adapterFor(entry.agent).createParser();
  const onStderr = entry.file.endsWith(".stderr");
  for (const line of text.split("\n")) parser.line(line, onStderr ? "stderr" : "stdout");
  return parser.finish({
    exitCode: entry.exitCode,
    signal: null,
    reason,
    stderrTail: onStderr ? text : "",
  });
}

describe("failure classes over each CLI's real errors", () => {
  it("covers every class for every CLI", () => {
    for (const agent of ["claude", "codex", "gemini", "opencode", "my-agent"]) {
      const classes = new Set(CASES.filter((c) => c.agent === agent).map((c) => c.expected));

      // `config` is the repository's (its prompt template), never an agent CLI's.
      const agentClasses = FAILURE_CLASSES.filter((name) => name !== "config");
      expect([...classes].sort(), agent).toEqual([...agentClasses].sort());
    }
  });

  it.each(CASES)("$agent $file is $expected", (entry) => {
    const result = parse(entry);

    expect(result.success).toBe(false);
    expect(result.failure?.failureClass).toBe(entry.expected);
    expect(result.failure?.message).toContain(entry.says);
    if (entry.resetAt !== undefined) {
      expect(result.failure?.resetAt?.toISOString()).toBe(entry.resetAt);
    }
  });

  it.each(CASES.filter((entry) => entry.expected !== "task"))(
    "$agent $file stopped by kanbot (time limit) is task: it ran",
    (entry) => {
      const result = parse(entry, "timeout");

      expect(result.failure?.failureClass).toBe("task");
    },
  );

  it("reads the reset time of a quota that gives one as a delay", () => {
    const entry = CASES.find((c) => c.file.endsWith("gemini/quota-retry-in.jsonl"));
    const text = readFileSync(join(FIXTURES, entry?.file ?? ""), "utf8");
    const now = new Date("2026-12-07T10:00:00Z");

    const failure = classifyFailure(
      {
        exit: { exitCode: 1, signal: null, reason: "exit", stderrTail: "" },
        messages: [text],
      },
      undefined,
      now,
    );

    expect(failure.failureClass).toBe("quota");
    expect(failure.resetAt?.toISOString()).toBe("2026-12-07T10:00:32.500Z");
  });
});

describe("resetTimeIn", () => {
  const now = new Date(2026, 11, 7, 10, 0, 0); // local time, as Codex prints it

  it.each([
    ["Please retry in 32.5s.", 32_500],
    ["Suggested retry after 60s.", 60_000],
    ["retry in 250ms", 250],
    ["It will reset in 2 hours 5 minutes.", 2 * 3_600_000 + 5 * 60_000],
  ])("reads the delay in %j", (text, ms) => {
    expect(resetTimeIn(text, now)?.getTime()).toBe(now.getTime() + ms);
  });

  it("reads Codex's local time later today, and tomorrow once it has passed", () => {
    expect(resetTimeIn("or try again at 3:15 PM.", now)).toEqual(new Date(2026, 11, 7, 15, 15));
    expect(resetTimeIn("or try again at 9:05 AM.", now)).toEqual(new Date(2026, 11, 8, 9, 5));
  });

  it("reads Codex's date on another day", () => {
    expect(resetTimeIn("try again at Dec 9th, 2026 3:15 PM.", now)).toEqual(
      new Date(2026, 11, 9, 15, 15),
    );
  });

  it("reads an ISO time after reset", () => {
    expect(resetTimeIn("the limit resets at 2026-12-08T15:00:00Z", now)?.toISOString()).toBe(
      "2026-12-08T15:00:00.000Z",
    );
  });

  it("finds none where there is none", () => {
    expect(resetTimeIn("You have exhausted your daily quota on this model.", now)).toBeUndefined();
  });
});

describe("the failure classes on the wire", () => {
  it("are the domain's", () => {
    expect([...FAILURE_CLASSES]).toEqual([...AGENT_FAILURE_CLASSES]);
  });
});
