// Lost writes, counted rather than guessed: while a scenario runs, a writer
// inserts sequenced markers (run id, sequence number) through the system's
// own client, one every interval, and remembers when each was acknowledged.
// It stops when the disruption has happened; after recovery the survivors are
// counted through survivor_url (the promoted replica, the restored database).
// Lost = acknowledged markers that did not survive; the achieved RPO is the
// time between the newest acknowledged marker and the newest survivor.

import type { LostWrites } from "../domain/scenario-report.ts";
import { parseDuration } from "../domain/duration.ts";
import type { ScenarioConfig } from "../config/scenario-schema.ts";
import { LifeboatError } from "../errors.ts";
import { engineForUrl, type ScenarioContext } from "./endpoints.ts";

type WriterConfig = NonNullable<ScenarioConfig["writer"]>;

export class MarkerWriter {
  readonly #config: WriterConfig;
  readonly #context: ScenarioContext;
  readonly #run: string;
  /** Acknowledgement time (ms) of each acknowledged marker, by sequence number. */
  readonly #acknowledged = new Map<number, number>();
  #next = 1;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #failures = 0;

  constructor(config: WriterConfig, context: ScenarioContext, run: string) {
    this.#config = config;
    this.#context = context;
    this.#run = run;
  }

  #sql(url: string) {
    const engine = engineForUrl(this.#context, url, "writer");
    if (!engine.executeSql || !engine.queryScalar)
      throw new LifeboatError("BAD_ARGUMENT", `writer: the ${engine.name} engine cannot write markers`);
    return { execute: engine.executeSql.bind(engine), query: engine.queryScalar.bind(engine) };
  }

  /** Create the marker table and write the first marker: a writer that cannot write fails the scenario before any disruption. */
  async start(): Promise<void> {
    const { execute } = this.#sql(this.#config.url);
    await execute(
      this.#config.url,
      `CREATE TABLE IF NOT EXISTS ${this.#config.table} (run VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (run, seq))`,
      this.#context.engineContext,
    );
    await this.#write();
    await this.#awaitSurvivorTable();
    const intervalMs = parseDuration(this.#config.interval) * 1000;
    this.#loop = (async () => {
      while (!this.#stopped) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        if (!this.#stopped) await this.#write().catch(() => this.#failures++);
      }
    })();
  }

  /**
   * A replica survivor gets the marker table by replication: wait (a few
   * seconds at most) until it has it, so the count measures the markers, not
   * how fast one CREATE TABLE travelled. A survivor that does not exist yet
   * (a restore's new server) is not waited for.
   */
  async #awaitSurvivorTable(): Promise<void> {
    const survivorUrl = this.#config.survivor_url;
    if (!survivorUrl || survivorUrl === this.#config.url) return;
    const { query } = this.#sql(survivorUrl);
    const deadline = this.#context.now().getTime() + 5000;
    while (this.#context.now().getTime() < deadline) {
      const seen = await query(
        survivorUrl,
        `SELECT count(*) FROM ${this.#config.table} WHERE run = '${this.#run}'`,
        this.#context.engineContext,
      ).then(
        (count) => Number(count) > 0,
        () => false,
      );
      if (seen) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #write(): Promise<void> {
    const seq = this.#next++;
    const { execute } = this.#sql(this.#config.url);
    await execute(
      this.#config.url,
      `INSERT INTO ${this.#config.table} (run, seq) VALUES ('${this.#run}', ${seq})`,
      this.#context.engineContext,
    );
    // Acknowledged: the statement returned. A marker written after stop() is not counted.
    if (!this.#stopped) this.#acknowledged.set(seq, this.#context.now().getTime());
  }

  /** Stop writing (the disruption happened); what was acknowledged so far is what must survive. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async count(): Promise<LostWrites> {
    const survivorUrl = this.#config.survivor_url ?? this.#config.url;
    const { query } = this.#sql(survivorUrl);
    const acknowledged = [...this.#acknowledged.keys()].sort((a, b) => a - b);
    const newest = acknowledged.at(-1) ?? 0;
    const ask = (sql: string) =>
      query(survivorUrl, sql, this.#context.engineContext).catch((error: Error) => {
        // No marker table on the survivor: not one marker survived (the DDL was lost with them).
        if (/does not exist|doesn't exist|no such table/i.test(error.message)) return null;
        throw error;
      });
    const where = `FROM ${this.#config.table} WHERE run = '${this.#run}' AND seq <= ${newest}`;
    const survived = Number((await ask(`SELECT count(*) ${where}`)) ?? 0);
    const newestSurvivor = Number((await ask(`SELECT max(seq) ${where}`)) ?? 0);
    const at = (seq: number) => this.#acknowledged.get(seq);
    const newestAt = at(newest) ?? 0;
    const survivorAt = at(newestSurvivor) ?? (acknowledged.length > 0 ? at(acknowledged[0]!)! : newestAt);
    return {
      acknowledged: acknowledged.length,
      survived,
      count: acknowledged.length - survived,
      seconds: newestSurvivor >= newest ? 0 : Math.max(0, (newestAt - survivorAt) / 1000),
      writerUrl: this.#config.url,
      survivorUrl,
    };
  }
}
