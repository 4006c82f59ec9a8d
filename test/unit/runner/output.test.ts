import { describe, expect, it } from "vitest";

import {
  createOutputPipeline,
  truncationMarker,
  type OutputStream,
} from "../../../runner/process/output.js";

function pipeline(maxLogBytes = 1_000_000) {
  const lines: [string, OutputStream][] = [];
  const logs: [string, OutputStream][] = [];
  const output = createOutputPipeline({
    secrets: ["hunter2-secret"],
    maxLogBytes,
    maxLineBytes: 1_000,
    stderrTailLines: 2,
    onLine: (line, stream) => lines.push([line, stream]),
    onLog: (text, stream) => logs.push([text, stream]),
  });
  return { output, lines, logs };
}

describe("createOutputPipeline", () => {
  it("splits chunks into lines per stream and keeps a stderr tail", () => {
    const { output, lines } = pipeline();

    output.write("stdout", Buffer.from("one\ntw"));
    output.write("stderr", Buffer.from("e1\ne2\ne3\n"));
    output.write("stdout", Buffer.from("o\nthree"));
    output.end();

    expect(lines.filter(([, s]) => s === "stdout").map(([l]) => l)).toEqual([
      "one",
      "two",
      "three",
    ]);
    expect(output.stderrTail()).toBe("e2\ne3");
  });

  it("never splits a UTF-8 character across chunks", () => {
    const { output, lines } = pipeline();
    const bytes = Buffer.from("héllo\n");

    output.write("stdout", bytes.subarray(0, 2));
    output.write("stdout", bytes.subarray(2));
    output.end();

    expect(lines).toEqual([["héllo", "stdout"]]);
  });

  it("redacts before lines reach the parser and the log", () => {
    const { output, lines, logs } = pipeline();

    output.write("stdout", "token hunter2-");
    output.write("stdout", "secret here\n");
    output.end();

    expect(lines).toEqual([["token [REDACTED] here", "stdout"]]);
    expect(logs.map(([t]) => t).join("")).toBe("token [REDACTED] here\n");
  });

  it("caps the log with one visible marker while the parser still sees every line", () => {
    const { output, lines, logs } = pipeline(50);

    for (let i = 0; i < 10; i++) output.write("stdout", `line number ${i}\n`);
    output.end();

    const log = logs.map(([t]) => t).join("");
    expect(log).toContain(truncationMarker(50));
    expect(log.split(truncationMarker(50))[0]?.length).toBeLessThanOrEqual(50);
    expect(log.split("[kanbot: output truncated").length).toBe(2);
    expect(lines).toHaveLength(10);
    expect(output.truncated).toBe(true);
  });
});
