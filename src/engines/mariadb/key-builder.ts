// The deferred secondary keys (deferred-keys.ts) built in a second session
// while the mariadb client goes on loading the next tables: on two cores the
// index sort of one table overlaps the inserts of the next. Correct in any
// order: an ALTER issued while the client still holds the table's LOCK
// TABLES waits for its UNLOCK (metadata lock); one issued before the client
// created the table is retried until it exists; one that runs before the
// rows arrive only makes their insert slower. The restore waits for every
// ALTER before it verifies, and the first failure fails the restore.

import type * as mariadb from "mariadb";
import { LifeboatError } from "../../errors.ts";
import { alterFor } from "./deferred-keys.ts";

/** ER_NO_SUCH_TABLE: the client has not created the table yet. */
const noSuchTable = 1146;
const retryEveryMs = 50;

export class KeyBuilder {
  readonly #connection: mariadb.Connection;
  readonly #signal: AbortSignal | undefined;
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;

  constructor(connection: mariadb.Connection, signal?: AbortSignal) {
    this.#connection = connection;
    this.#signal = signal;
  }

  /** Queue one table's keys; ALTERs run one at a time, in dump order. */
  add(table: string, keys: readonly string[]): void {
    const statement = alterFor(table, keys);
    this.#queue = this.#queue.then(async () => {
      if (this.#failure !== undefined) return;
      try {
        await this.#run(statement);
      } catch (error) {
        this.#failure ??= error;
      }
    });
  }

  async #run(statement: string): Promise<void> {
    for (;;) {
      this.#signal?.throwIfAborted();
      try {
        await this.#connection.query(statement);
        return;
      } catch (error) {
        if ((error as { errno?: number }).errno !== noSuchTable) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryEveryMs));
      }
    }
  }

  /** Wait for every queued ALTER; the first failure is the restore's error. */
  async finish(): Promise<void> {
    await this.#queue;
    if (this.#failure === undefined) return;
    if (this.#failure instanceof LifeboatError) throw this.#failure;
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `building a table's secondary keys failed: ${(this.#failure as Error).message}`,
      { cause: this.#failure },
    );
  }
}
