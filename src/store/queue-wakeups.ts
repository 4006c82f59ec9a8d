/**
 * Queue wake-ups: "a job may have become claimable". In this process an event per job; on
 * Postgres also a NOTIFY per job, sent when the transaction that queued it commits and
 * delivered to every replica, which LISTENs on one dedicated connection.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Transaction } from "kysely";
import { sql } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { StoreDialect } from "./migrations.js";
import type { StoreDatabase } from "./schema.js";

/** Postgres channel that tells every replica a job may be claimable. */
const JOB_QUEUED_CHANNEL = "kanbot_job_queued";

export class QueueWakeups {
  readonly #dialect: StoreDialect;
  readonly #connectListener: (() => Promise<pg.Client>) | undefined;
  readonly #log: Logger;
  /** Identifies this store's own NOTIFYs, so its listeners are not woken twice. */
  readonly #instanceId = randomUUID();
  readonly #events = new EventEmitter();
  #listener: pg.Client | undefined;
  #listenerStarting: Promise<void> | undefined;
  #closed = false;

  constructor(options: {
    dialect: StoreDialect;
    connectListener: (() => Promise<pg.Client>) | undefined;
    log: Logger;
  }) {
    this.#dialect = options.dialect;
    this.#connectListener = options.connectListener;
    this.#log = options.log;
    this.#events.setMaxListeners(0);
  }

  /** Wakes this process's listeners once (call after the queuing transaction committed). */
  emit(): void {
    this.#events.emit("queued");
  }

  onJobQueued(listener: () => void): () => void {
    this.#events.on("queued", listener);
    if (this.#dialect === "postgres") this.#startListener();
    return () => {
      this.#events.off("queued", listener);
    };
  }

  /**
   * Postgres: NOTIFY is delivered when the transaction commits, to every replica. The payload
   * names the job so that several in one transaction are not folded into one.
   */
  async notifyQueued(trx: Transaction<StoreDatabase>, jobId: number): Promise<void> {
    if (this.#dialect !== "postgres") return;
    const payload = `${this.#instanceId}:${jobId}`;
    await sql`select pg_notify(${JOB_QUEUED_CHANNEL}, ${payload})`.execute(trx);
  }

  #startListener(): void {
    if (this.#listener || this.#listenerStarting || this.#closed || !this.#connectListener) return;
    const connect = this.#connectListener;
    this.#listenerStarting = (async () => {
      try {
        const client = await connect();
        client.on("notification", (message) => {
          const sender = message.payload?.split(":")[0];
          if (message.channel === JOB_QUEUED_CHANNEL && sender !== this.#instanceId) {
            this.#events.emit("queued");
          }
        });
        client.on("error", (error) => {
          this.#log.warn({ err: error }, "queue listener connection lost");
          this.#listener = undefined;
          void client.end().catch(() => undefined);
          if (!this.#closed) setTimeout(() => this.#startListener(), 1_000).unref();
        });
        await client.query(`listen ${JOB_QUEUED_CHANNEL}`);
        if (this.#closed) {
          await client.end();
          return;
        }
        this.#listener = client;
      } catch (error) {
        this.#log.warn({ err: error }, "queue listener could not connect");
        if (!this.#closed) setTimeout(() => this.#startListener(), 1_000).unref();
      } finally {
        this.#listenerStarting = undefined;
      }
    })();
  }

  /** Drops every listener and ends the LISTEN connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.removeAllListeners();
    await this.#listenerStarting;
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener) await listener.end().catch(() => undefined);
  }
}
