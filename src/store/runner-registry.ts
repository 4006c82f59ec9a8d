/**
 * Runners and their one-time registration tokens. Tokens are generated here, returned once, and
 * stored only as SHA-256 hashes.
 */
import { randomUUID } from "node:crypto";
import { RegistrationTokenError, RunnerNotFoundError } from "./errors.js";
import { fromStringListText, toRunner, toStringListText } from "./rows.js";
import {
  hashToken,
  insertAudit,
  newSecret,
  runnerActor,
  SYSTEM_ACTOR,
  type StoreContext,
} from "./store-context.js";
import type {
  RegisteredRunner,
  RegistrationTokenGrant,
  Runner,
  RunnerRegistration,
  RunnerUpdate,
} from "./types.js";

export class RunnerRegistry {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async createRegistrationToken(ttlMs: number): Promise<RegistrationTokenGrant> {
    const now = this.#ctx.now();
    const token = newSecret("kbreg_");
    const expiresAt = now + ttlMs;
    await this.#ctx.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("registration_tokens")
        .values({ token_hash: hashToken(token), created_at: now, expires_at: expiresAt })
        .execute();
      await insertAudit(trx, now, {
        actor: SYSTEM_ACTOR,
        action: "runner.registration-token-created",
        detail: { expiresAt },
      });
    });
    return { token, expiresAt: new Date(expiresAt) };
  }

  async registerRunner(registration: RunnerRegistration): Promise<RegisteredRunner> {
    const now = this.#ctx.now();
    const runnerId = randomUUID();
    const token = newSecret("kbr_");
    const tokenHash = hashToken(registration.registrationToken);
    return this.#ctx.db.transaction().execute(async (trx) => {
      const spent = await trx
        .updateTable("registration_tokens")
        .set({ used_at: now, runner_id: runnerId })
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .returning("token_hash")
        .executeTakeFirst();
      if (!spent) {
        const known = await trx
          .selectFrom("registration_tokens")
          .select(["used_at"])
          .where("token_hash", "=", tokenHash)
          .executeTakeFirst();
        throw new RegistrationTokenError(
          !known ? "unknown" : known.used_at !== null ? "used" : "expired",
        );
      }
      const row = await trx
        .insertInto("runners")
        .values({
          id: runnerId,
          name: registration.name,
          token_hash: hashToken(token),
          agents: toStringListText(registration.agents),
          labels: toStringListText(registration.labels),
          repos: toStringListText(registration.repos),
          registered_at: now,
          last_seen_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertAudit(trx, now, {
        actor: runnerActor(runnerId),
        action: "runner.registered",
        detail: {
          name: registration.name,
          agents: [...registration.agents],
          labels: [...registration.labels],
          repos: [...registration.repos],
        },
      });
      return { runner: toRunner(row), token };
    });
  }

  async authenticateRunner(token: string): Promise<Runner | undefined> {
    const row = await this.#ctx.db
      .updateTable("runners")
      .set({ last_seen_at: this.#ctx.now() })
      .where("token_hash", "=", hashToken(token))
      .where("revoked_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    return row && toRunner(row);
  }

  async getRunner(runnerId: string): Promise<Runner | undefined> {
    const row = await this.#ctx.db
      .selectFrom("runners")
      .selectAll()
      .where("id", "=", runnerId)
      .executeTakeFirst();
    return row && toRunner(row);
  }

  async listRunners(): Promise<Runner[]> {
    const rows = await this.#ctx.db
      .selectFrom("runners")
      .selectAll()
      .orderBy("registered_at")
      .orderBy("id")
      .execute();
    return rows.map(toRunner);
  }

  async updateRunner(runnerId: string, update: RunnerUpdate): Promise<Runner> {
    const row = await this.#ctx.db
      .updateTable("runners")
      .set({
        ...(update.name !== undefined ? { name: update.name } : {}),
        ...(update.agents !== undefined ? { agents: toStringListText(update.agents) } : {}),
        ...(update.labels !== undefined ? { labels: toStringListText(update.labels) } : {}),
        ...(update.repos !== undefined ? { repos: toStringListText(update.repos) } : {}),
        last_seen_at: this.#ctx.now(),
      })
      .where("id", "=", runnerId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new RunnerNotFoundError(runnerId);
    return toRunner(row);
  }

  async revokeRunner(runnerId: string, actor: string = SYSTEM_ACTOR): Promise<Runner> {
    const now = this.#ctx.now();
    return this.#ctx.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("runners")
        .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(now)) }))
        .where("id", "=", runnerId)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new RunnerNotFoundError(runnerId);
      await insertAudit(trx, now, { actor, action: "runner.revoked", detail: { runnerId } });
      return toRunner(row);
    });
  }

  async listOfferedAgents(): Promise<string[]> {
    const rows = await this.#ctx.db
      .selectFrom("runners")
      .select("agents")
      .where("revoked_at", "is", null)
      .execute();
    return [...new Set(rows.flatMap((row) => fromStringListText(row.agents)))].sort();
  }
}
