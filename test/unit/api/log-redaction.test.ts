// The app's per-job log redactor (src/api/log-redaction.ts): chunks of one job form one stream in
// sequence order; a number seen before is redacted on its own; the held end comes out once.
import { describe, expect, it } from "vitest";

import { createJobLogRedactor } from "../../../src/api/log-redaction.js";
import { REDACTED } from "../../../src/domain/redaction.js";

const TOKEN = `kbr_${"Ab3".repeat(14)}x`;

describe("createJobLogRedactor", () => {
  it("finds a token split across two chunks of one job, not across jobs", () => {
    const logs = createJobLogRedactor(() => []);

    const first = logs.chunk(1, 0, `push ${TOKEN.slice(0, 20)}`);
    const other = logs.chunk(2, 0, "other job\n");
    const second = logs.chunk(1, 1, `${TOKEN.slice(20)} done\n`);

    expect(first).toBe("push ");
    expect(other).toBe("other job\n");
    expect(second).toBe(`${REDACTED} done\n`);
  });

  it("redacts a number it has seen on its own, outside the stream", () => {
    const logs = createJobLogRedactor(() => []);
    logs.chunk(1, 0, "start ");
    logs.chunk(1, 1, "half-of-a-wo");

    const again = logs.chunk(1, 0, `retried ${TOKEN}\n`);

    expect(again).toBe(`retried ${REDACTED}\n`);
    expect(logs.held(1)).toBe("half-of-a-wo".length);
  });

  it("releases what it holds once, under the number after the last chunk", () => {
    const logs = createJobLogRedactor((jobId) => (jobId === 1 ? ["job-token-1234"] : []));
    logs.chunk(1, 0, "line\n");
    const released = logs.chunk(1, 4, "last words with job-token-1234");

    const held = logs.finish(1);

    expect(released).toBe("last words with ");
    expect(held).toEqual({ seq: 5, text: REDACTED });
    expect(logs.finish(1)).toBeUndefined();
  });

  it("forgets a job whose lease ended", () => {
    const logs = createJobLogRedactor(() => []);
    logs.chunk(3, 0, "held");

    logs.forget(3);

    expect(logs.held(3)).toBe(0);
    expect(logs.finish(3)).toBeUndefined();
  });
});
