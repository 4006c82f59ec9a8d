/**
 * The durable webhook inbox (DESIGN section 8): deliveries recorded once, handed out in order per
 * ordering key, retried with exponential backoff.
 */
import { DeliveryNotFoundError } from "./errors.js";
import { toDelivery } from "./rows.js";
import {
  insertAudit,
  SYSTEM_ACTOR,
  truncate,
  withoutNul,
  type Db,
  type StoreContext,
} from "./store-context.js";
import type { Delivery, DeliveryFilter, NewDelivery, RecordDeliveryResult } from "./types.js";

export class WebhookInbox {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async recordDelivery(delivery: NewDelivery): Promise<RecordDeliveryResult> {
    const row = await insertDeliveryIn(this.#ctx.db, this.#ctx.now(), delivery);
    if (row) return { outcome: "inserted", delivery: toDelivery(row) };
    const existing = await this.getDelivery(delivery.deliveryId);
    if (!existing) throw new DeliveryNotFoundError(delivery.deliveryId);
    this.#ctx.log.debug({ deliveryId: delivery.deliveryId }, "duplicate webhook delivery ignored");
    return { outcome: "duplicate", delivery: existing };
  }

  async nextDeliveries(options: {
    limit: number;
    holdMs?: number;
    excludeKeys?: readonly string[];
    holder?: string;
  }): Promise<Delivery[]> {
    if (options.limit <= 0) return [];
    const excludeKeys = [...(options.excludeKeys ?? [])];
    const now = this.#ctx.now();
    const holdUntil = now + (options.holdMs ?? 60_000);
    const rows = await this.#ctx.db.transaction().execute(async (trx) => {
      // The ids are read first: Postgres may run an `IN (… LIMIT n FOR UPDATE SKIP LOCKED)`
      // subquery more than once and hand out more than `limit`.
      const due = await trx
        .selectFrom("deliveries as d")
        .select("d.id")
        .where("d.status", "=", "pending")
        .where("d.next_attempt_at", "<=", now)
        .where((eb) => eb.or([eb("d.locked_until", "is", null), eb("d.locked_until", "<=", now)]))
        .$if(excludeKeys.length > 0, (qb) => qb.where("d.ordering_key", "not in", excludeKeys))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("deliveries as older")
                .select("older.id")
                .whereRef("older.ordering_key", "=", "d.ordering_key")
                .where("older.status", "=", "pending")
                .whereRef("older.id", "<", "d.id"),
            ),
          ),
        )
        .orderBy("d.id")
        .limit(options.limit)
        .$if(this.#ctx.dialect === "postgres", (qb) => qb.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      return trx
        .updateTable("deliveries")
        .set({ locked_until: holdUntil, locked_by: options.holder ?? null })
        .where(
          "id",
          "in",
          due.map((row) => row.id),
        )
        .where("status", "=", "pending")
        .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", now)]))
        .returningAll()
        .execute();
    });
    return rows.sort((a, b) => a.id - b.id).map(toDelivery);
  }

  async renewDeliveryHolds(
    holder: string,
    deliveryIds: readonly string[],
    holdMs: number,
  ): Promise<number> {
    if (deliveryIds.length === 0) return 0;
    const result = await this.#ctx.db
      .updateTable("deliveries")
      .set({ locked_until: this.#ctx.now() + holdMs })
      .where("locked_by", "=", holder)
      .where("status", "=", "pending")
      .where("delivery_id", "in", [...deliveryIds])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async releaseDeliveryHolds(holder: string, deliveryIds?: readonly string[]): Promise<number> {
    if (deliveryIds !== undefined && deliveryIds.length === 0) return 0;
    const result = await this.#ctx.db
      .updateTable("deliveries")
      .set({ locked_until: null, locked_by: null })
      .where("locked_by", "=", holder)
      .where("status", "=", "pending")
      .$if(deliveryIds !== undefined, (qb) =>
        qb.where("delivery_id", "in", [...(deliveryIds ?? [])]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async markDeliveryDone(deliveryId: string): Promise<Delivery> {
    const now = this.#ctx.now();
    const row = await this.#ctx.db
      .updateTable("deliveries")
      .set((eb) => ({
        status: "done",
        attempts: eb("attempts", "+", 1),
        processed_at: now,
        locked_until: null,
        locked_by: null,
      }))
      .where("delivery_id", "=", deliveryId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new DeliveryNotFoundError(deliveryId);
    return toDelivery(row);
  }

  async markDeliveryFailed(
    deliveryId: string,
    error: string,
    options: { permanent?: boolean } = {},
  ): Promise<Delivery> {
    const now = this.#ctx.now();
    return this.#ctx.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom("deliveries")
        .select(["attempts"])
        .where("delivery_id", "=", deliveryId)
        .executeTakeFirst();
      if (!current) throw new DeliveryNotFoundError(deliveryId);
      const attempts = current.attempts + 1;
      const giveUp = options.permanent === true || attempts >= this.#ctx.policy.deliveryMaxAttempts;
      const delay = Math.min(
        this.#ctx.policy.deliveryBackoffBaseMs * 2 ** (attempts - 1),
        this.#ctx.policy.deliveryBackoffMaxMs,
      );
      const row = await trx
        .updateTable("deliveries")
        .set({
          status: giveUp ? "failed" : "pending",
          attempts,
          last_error: truncate(withoutNul(error)),
          next_attempt_at: giveUp ? now : now + delay,
          processed_at: giveUp ? now : null,
          locked_until: null,
          locked_by: null,
        })
        .where("delivery_id", "=", deliveryId)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (giveUp) {
        this.#ctx.log.error({ deliveryId, attempts }, "webhook delivery failed for good");
        await insertAudit(trx, now, {
          actor: SYSTEM_ACTOR,
          action: "delivery.failed",
          detail: { deliveryId, event: row.event, attempts, error: truncate(error) },
        });
      } else {
        this.#ctx.log.warn(
          { deliveryId, attempts, retryInMs: delay },
          "webhook delivery will be retried",
        );
      }
      return toDelivery(row);
    });
  }

  async getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    const row = await this.#ctx.db
      .selectFrom("deliveries")
      .selectAll()
      .where("delivery_id", "=", deliveryId)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  async listDeliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const { statuses, orderingKey, limit } = filter;
    if (statuses && statuses.length === 0) return [];
    const rows = await this.#ctx.db
      .selectFrom("deliveries")
      .selectAll()
      .$if(statuses !== undefined, (qb) => qb.where("status", "in", [...(statuses ?? [])]))
      .$if(orderingKey !== undefined, (qb) => qb.where("ordering_key", "=", orderingKey ?? ""))
      .orderBy("id")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toDelivery);
  }
}

/**
 * Inserts `delivery` with the caller's handle (a transaction, for a job's completion and its
 * `finished` event together); undefined when a delivery with its id is recorded already.
 */
export async function insertDeliveryIn(db: Db, now: number, delivery: NewDelivery) {
  return db
    .insertInto("deliveries")
    .values({
      delivery_id: delivery.deliveryId,
      event: delivery.event,
      action: delivery.action ?? null,
      installation_id: delivery.installationId ?? null,
      payload: withoutNul(JSON.stringify(delivery.payload)),
      ordering_key: delivery.orderingKey,
      // An invalid payload is kept for the record and never handed out.
      status: delivery.invalid === undefined ? "pending" : "invalid",
      attempts: 0,
      next_attempt_at: now,
      received_at: now,
      ...(delivery.invalid === undefined
        ? {}
        : { last_error: truncate(withoutNul(delivery.invalid)), processed_at: now }),
    })
    .onConflict((oc) => oc.column("delivery_id").doNothing())
    .returningAll()
    .executeTakeFirst();
}
