import { describe, expect, it } from "vitest";

import {
  createStreamRedactor,
  redactText,
  REDACTED,
  secretForms,
} from "../../../runner/process/redact.js";

const SECRET = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

function streamThrough(chunks: readonly string[], secrets: readonly string[]): string {
  const redactor = createStreamRedactor(secrets);
  return chunks.map((chunk) => redactor.push(chunk)).join("") + redactor.flush();
}

describe("secretForms", () => {
  it("includes the plain, base64, URL-safe base64 and URL-encoded forms", () => {
    const secret = "p@ss word/with+chars";

    const forms = secretForms(secret);

    expect(forms).toContain(secret);
    expect(forms).toContain(Buffer.from(secret).toString("base64").replace(/=+$/, "").slice(0, -1));
    expect(forms).toContain(encodeURIComponent(secret));
  });

  it("ignores secrets too short to redact safely", () => {
    expect(secretForms("abc")).toEqual([]);
  });
});

describe("redactText", () => {
  it.each([
    ["plain", `token=${SECRET}`],
    ["base64", Buffer.from(SECRET).toString("base64")],
    ["base64 inside a longer value", Buffer.from(`x-access-token:${SECRET}`).toString("base64")],
    ["base64 with one byte before", Buffer.from(`a${SECRET}`).toString("base64")],
    ["base64 with two bytes before", Buffer.from(`ab${SECRET}`).toString("base64")],
    ["URL-safe base64", Buffer.from(`??${SECRET}>>`).toString("base64url")],
    ["URL-encoded", `https://u:${encodeURIComponent(`${SECRET}/+ x`)}@host`],
  ])("removes the %s form", (_name, text) => {
    const secret = text.includes("%") ? `${SECRET}/+ x` : SECRET;

    const out = redactText(text, [secret]);

    expect(out).toContain(REDACTED);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(Buffer.from(SECRET).toString("base64").slice(4, 30));
  });

  it("leaves text without secrets alone", () => {
    expect(redactText("nothing to see", [SECRET])).toBe("nothing to see");
  });
});

describe("createStreamRedactor", () => {
  const text = `before ${SECRET} middle ${Buffer.from(SECRET).toString("base64")} after\n`;

  it.each(Array.from({ length: text.length - 1 }, (_, i) => i + 1))(
    "redacts a secret split at character %i",
    (cut) => {
      const out = streamThrough([text.slice(0, cut), text.slice(cut)], [SECRET]);

      expect(out).not.toContain(SECRET);
      expect(out).toBe(`before ${REDACTED} middle ${REDACTED} after\n`);
    },
  );

  it("redacts a secret fed one character at a time", () => {
    const out = streamThrough([...text], [SECRET]);

    expect(out).toBe(`before ${REDACTED} middle ${REDACTED} after\n`);
  });

  it("passes everything through when there are no secrets", () => {
    expect(streamThrough(["a", "b"], [])).toBe("ab");
  });
});
