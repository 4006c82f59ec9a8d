/**
 * Authentication as GitHub does it for a GitHub App: the app's JWT (RS256, signed with its
 * private key, `iss` = app id, at most ten minutes long) for `/app` endpoints, and installation
 * tokens (`ghs_…`, an hour long, limited to repositories and permissions, revocable) for the
 * rest and for git. User tokens (`ghp_…`) let tests act as people over REST and git.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";

import type { AccessLevel, SimInstallation, SimToken, SimulatorState } from "./state.js";

/** Why a credential was refused; the REST layer answers 401 with GitHub's message. */
export type AuthFailure =
  "missing" | "bad-credentials" | "expired" | "revoked" | "jwt-invalid" | "jwt-expired";

export type Credential =
  { kind: "app" } | { kind: "token"; token: SimToken } | { kind: "refused"; why: AuthFailure };

export function appPublicKey(key: string): KeyObject {
  return createPublicKey(key);
}

/** Verifies an app JWT; undefined when valid, else why not. */
export function verifyAppJwt(
  jwt: string,
  key: KeyObject,
  appId: number,
  now: Date,
): AuthFailure | undefined {
  const [header, payload, signature] = jwt.split(".");
  if (header === undefined || payload === undefined || signature === undefined)
    return "jwt-invalid";
  let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
  let alg: unknown;
  try {
    alg = (JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return "jwt-invalid";
  }
  const valid =
    alg === "RS256" &&
    verify(
      "RSA-SHA256",
      Buffer.from(`${header}.${payload}`),
      key,
      Buffer.from(signature, "base64url"),
    );
  if (!valid || String(claims.iss) !== String(appId)) return "jwt-invalid";
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== "number" || typeof claims.iat !== "number") return "jwt-invalid";
  if (claims.exp < seconds || claims.exp - claims.iat > 600 + 60) return "jwt-expired";
  return undefined;
}

/** Reads `Authorization` the ways GitHub accepts: `Bearer <jwt|token>` or `token <token>`. */
export function authenticate(
  header: string | undefined,
  state: SimulatorState,
  key: KeyObject,
  appId: number,
): Credential {
  const match = header?.match(/^(?:bearer|token)\s+(\S+)$/i);
  const value = match?.[1];
  if (value === undefined) return { kind: "refused", why: "missing" };
  if (value.split(".").length === 3) {
    const why = verifyAppJwt(value, key, appId, state.now());
    return why === undefined ? { kind: "app" } : { kind: "refused", why };
  }
  return tokenCredential(value, state);
}

/** An installation or user token as the simulator knows it. */
export function tokenCredential(value: string, state: SimulatorState): Credential {
  const token = state.tokens.get(value);
  if (token === undefined) return { kind: "refused", why: "bad-credentials" };
  if (token.revoked) return { kind: "refused", why: "revoked" };
  if (token.expiresAt <= state.now()) return { kind: "refused", why: "expired" };
  token.used = true;
  return { kind: "token", token };
}

function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
}

/** Mints an installation token, as `POST /app/installations/{id}/access_tokens` does. */
export function mintInstallationToken(
  state: SimulatorState,
  installation: SimInstallation,
  botLogin: string,
  options: {
    repositories: Set<string> | undefined;
    permissions: Record<string, AccessLevel>;
    lifetimeMs: number;
  },
): SimToken {
  const token: SimToken = {
    token: randomToken("ghs_"),
    kind: "installation",
    installationId: installation.id,
    login: botLogin,
    repositories: options.repositories,
    permissions: options.permissions,
    expiresAt: new Date(state.now().getTime() + options.lifetimeMs),
    revoked: false,
  };
  state.tokens.set(token.token, token);
  return token;
}

/** A personal access token for `login` (tests acting as a person over REST or git). */
export function mintUserToken(state: SimulatorState, login: string): SimToken {
  const token: SimToken = {
    token: randomToken("ghp_"),
    kind: "user",
    installationId: undefined,
    login,
    repositories: undefined,
    permissions: {},
    expiresAt: new Date(state.now().getTime() + 365 * 24 * 3_600_000),
    revoked: false,
  };
  state.tokens.set(token.token, token);
  return token;
}

/** GitHub's 401 messages. */
export function authMessage(why: AuthFailure): string {
  switch (why) {
    case "missing":
      return "Requires authentication";
    case "jwt-invalid":
      return "A JSON web token could not be decoded";
    case "jwt-expired":
      return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    case "bad-credentials":
    case "expired":
    case "revoked":
      return "Bad credentials";
  }
}
