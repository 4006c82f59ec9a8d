import { describe, expect, it } from "vitest";

import { parseCommand, type Command } from "../../../src/domain/commands.js";

describe("parseCommand", () => {
  it.each<[string, string, Command | undefined]>([
    ["run", "/kanbot run", { kind: "run", agent: undefined }],
    ["run with agent", "/kanbot run codex", { kind: "run", agent: "codex" }],
    ["run with agent and punctuation", "/kanbot run codex.", { kind: "run", agent: "codex" }],
    ["run keeps the agent's spelling", "/kanbot run Gemini", { kind: "run", agent: "Gemini" }],
    [
      "run ignores words after the agent",
      "/kanbot run aider please",
      { kind: "run", agent: "aider" },
    ],
    [
      "run with something that is no name",
      "/kanbot run @octocat",
      { kind: "run", agent: undefined },
    ],
    ["cancel", "/kanbot cancel", { kind: "cancel" }],
    ["cancel with a reason", "/kanbot cancel, wrong approach", { kind: "cancel" }],
    ["retry", "/kanbot retry", { kind: "retry" }],
    ["status", "/kanbot status", { kind: "status" }],
    ["status with punctuation", "/kanbot status?", { kind: "status" }],
    ["ready", "/kanbot ready", { kind: "ready" }],
    ["ready with words after it", "/kanbot READY, no CI here", { kind: "ready" }],
    ["case-insensitive", "/KANBOT Cancel", { kind: "cancel" }],
    [
      "instructions",
      "/kanbot use a map instead of a list",
      { kind: "instructions", text: "use a map instead of a list" },
    ],
    [
      "instructions run to the end of the comment",
      "/kanbot rename the flag\nand update the docs\n\n```\nerror: x\n```",
      { kind: "instructions", text: "rename the flag\nand update the docs\n\n```\nerror: x\n```" },
    ],
    ["after other text", "Thanks!\n\n/kanbot retry", { kind: "retry" }],
    ["first command wins", "/kanbot cancel\n/kanbot run", { kind: "cancel" }],
    ["up to three spaces of indent", "   /kanbot status", { kind: "status" }],
    ["four spaces is code", "    /kanbot status", undefined],
    ["not at the start of a line", "please /kanbot run", undefined],
    ["in a list item", "- /kanbot run", undefined],
    ["needs a space after /kanbot", "/kanbotrun", undefined],
    ["bare /kanbot is no command", "/kanbot\n/kanbot retry", { kind: "retry" }],
    ["in a fenced block", "```\n/kanbot run\n```", undefined],
    ["in a tilde block", "~~~\n/kanbot cancel\n~~~\n/kanbot status", { kind: "status" }],
    ["in a quote", "> /kanbot cancel\n\nI agree", undefined],
    ["quote then a real command", "> /kanbot cancel\n/kanbot retry", { kind: "retry" }],
    ["in inline code", "`/kanbot run`", undefined],
    ["in a hidden comment", "<!--\n/kanbot cancel\n-->", undefined],
    [
      "hidden comment before the command",
      "<!-- x -->\n/kanbot run",
      { kind: "run", agent: undefined },
    ],
    ["CRLF", "hi\r\n/kanbot run codex\r\n", { kind: "run", agent: "codex" }],
    ["no command", "LGTM", undefined],
    ["empty", "", undefined],
  ])("%s", (_name, comment, expected) => {
    const command = parseCommand(comment);

    expect(command).toEqual(expected);
  });
});
