/**
 * Redaction of secrets from a stream of text. A secret is searched in the forms it is likely to
 * take in output: as is, base64 (standard and URL-safe, at any byte alignment, so that a secret
 * inside a longer encoded string such as `x-access-token:<token>` is found too) and URL-encoded.
 *
 * Streams arrive in chunks, and a secret may be split across two of them: the redactor keeps back
 * a tail as long as the longest form minus one character, so a form is always seen whole before
 * any part of it is released, and a match is only replaced once no longer form could still be
 * growing from the same place.
 */

export const REDACTED = "[REDACTED]";

/** Secrets shorter than this are ignored: redacting `a` or `1` would mangle every line. */
export const MIN_SECRET_LENGTH = 6;

export interface StreamRedactor {
  /** Feeds a chunk; returns the text that is now safe to release (possibly empty). */
  push(chunk: string): string;
  /** Releases what is held back, redacted; call once at the end of the stream. */
  flush(): string;
}

/** Every form of `secret` that output may contain, longest first. */
export function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const forms = new Set<string>([secret]);
  const bytes = Buffer.from(secret, "utf8");
  // The secret encoded on its own, padding included (redacted whole, not leaving "Q==" behind).
  forms.add(bytes.toString("base64"));
  forms.add(bytes.toString("base64url"));
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    // Characters that depend only on the secret's bits: skip those mixing in the filler bytes
    // before it and those mixing in whatever follows it.
    const from = Math.ceil((shift * 8) / 6);
    const to = Math.floor(((shift + bytes.length) * 8) / 6);
    const standard = shifted.toString("base64").slice(from, to);
    if (standard.length >= MIN_SECRET_LENGTH) {
      forms.add(standard);
      forms.add(standard.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Replaces every form of every secret in a complete string. */
export function redactText(text: string, secrets: readonly string[]): string {
  const pattern = compile(secrets);
  return pattern === null ? text : text.replace(pattern, REDACTED);
}

/** A redactor for one stream (keep one per stdout/stderr: their chunks interleave). */
export function createStreamRedactor(secrets: readonly string[]): StreamRedactor {
  const pattern = compile(secrets);
  const longest = Math.max(0, ...secrets.flatMap(secretForms).map((form) => form.length));
  let pending = "";
  return {
    push(chunk) {
      if (pattern === null) return chunk;
      pending += chunk;
      // A match is final when the longest form starting at the same place would fit in what we
      // have: only then can no longer form (a padded base64, say) still be arriving.
      const lastFinalStart = pending.length - longest;
      let cut = Math.max(0, pending.length - longest + 1);
      let out = "";
      let at = 0;
      for (const match of pending.matchAll(pattern)) {
        if (match.index > lastFinalStart) {
          cut = Math.min(cut, match.index);
          break;
        }
        out += pending.slice(at, match.index) + REDACTED;
        at = match.index + match[0].length;
      }
      cut = Math.max(cut, at);
      out += pending.slice(at, cut);
      pending = pending.slice(cut);
      return out;
    },
    flush() {
      const out = pattern === null ? pending : pending.replace(pattern, REDACTED);
      pending = "";
      return out;
    },
  };
}

function compile(secrets: readonly string[]): RegExp | null {
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return null;
  return new RegExp(forms.map(escapeRegExp).join("|"), "g");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
