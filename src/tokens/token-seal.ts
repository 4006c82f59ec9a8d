/**
 * Job tokens at rest (issue 13): a job's GitHub token is kept in the job store until its lease
 * ends, sealed with AES-256-GCM. The key is derived with HKDF (SHA-256) from the GitHub App's
 * private key, which every replica of the app already holds, so any replica can open what
 * another sealed and nothing new has to be configured. The job's id is the additional data: a
 * sealed token copied onto another job's row does not open.
 *
 * Sealed form: `v1.<base64url(iv)>.<base64url(tag)>.<base64url(ciphertext)>`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  hkdfSync,
  randomBytes,
} from "node:crypto";

const VERSION = "v1";
const HKDF_SALT = "kanbot";
const HKDF_INFO = "kanbot job tokens at rest v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte AES key for job tokens. */
export type JobTokenKey = Buffer & { readonly jobTokenKey?: never };

/**
 * The key derived from the App's private key (PEM). The key's material is read in one canonical
 * form (PKCS#8 DER), so replicas that hold the same key as PKCS#1 or PKCS#8 PEM, or with other
 * line endings, derive the same key.
 */
export function jobTokenKeyFromPrivateKey(privateKeyPem: string): JobTokenKey {
  let material: Buffer;
  try {
    material = createPrivateKey(privateKeyPem).export({ format: "der", type: "pkcs8" });
  } catch {
    // Not a key node:crypto reads: derive from its text, with line endings made alike.
    material = Buffer.from(privateKeyPem.replace(/\r\n/g, "\n").trim(), "utf8");
  }
  if (material.length === 0) throw new Error("job tokens need the App's private key; it is empty");
  return Buffer.from(hkdfSync("sha256", material, HKDF_SALT, HKDF_INFO, 32)) as JobTokenKey;
}

/** `token`, issued for job `jobId`, sealed with `key`. */
export function sealJobToken(key: JobTokenKey, jobId: number, token: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(jobId));
  const sealed = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
  return [
    VERSION,
    iv.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
    sealed.toString("base64url"),
  ].join(".");
}

/**
 * The token sealed for job `jobId`, or undefined when it does not open: another key (the App's
 * private key changed), another job, or altered text.
 */
export function openJobToken(key: JobTokenKey, jobId: number, sealed: string): string | undefined {
  const [version, iv, tag, text, ...rest] = sealed.split(".");
  if (version !== VERSION || iv === undefined || tag === undefined || text === undefined) {
    return undefined;
  }
  if (rest.length > 0) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(additionalData(jobId));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(text, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    return undefined;
  }
}

function additionalData(jobId: number): Buffer {
  return Buffer.from(`kanbot job ${jobId}`, "utf8");
}
