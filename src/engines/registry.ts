// The one list of engines. Everything that varies by engine is derived from
// it: the engine names, the config union (engines/config.ts), the typed
// registry below, restore options and capabilities. Adding an engine is one
// folder with its definition plus one line here; nothing registers itself by
// side effect.

import { LifeboatError } from "../errors.ts";
import type { Engine } from "./engine.ts";
import { commandEngine } from "./command/index.ts";
import { filesEngine } from "./files/index.ts";
import { mariadbEngine } from "./mariadb/index.ts";
import { natsEngine } from "./nats/index.ts";
import { postgresEngine } from "./postgres/index.ts";
import { redisEngine } from "./redis/index.ts";
import { sqliteEngine } from "./sqlite/index.ts";

export const engines = [
  postgresEngine,
  sqliteEngine,
  filesEngine,
  redisEngine,
  mariadbEngine,
  natsEngine,
  commandEngine,
] as const;

/** The source config type an engine definition takes. */
export type ConfigOf<E> = E extends Engine<infer C> ? C : never;
/** The union of every engine's source config, discriminated by `engine`. */
export type SourceConfig = ConfigOf<(typeof engines)[number]>;
export type EngineName = SourceConfig["engine"];
export const engineNames = engines.map((engine) => engine.name) as readonly EngineName[];

const byName = new Map<string, Engine>(engines.map((engine) => [engine.name, engine as Engine]));

/**
 * The engine for a name read from a config or a manifest. A manifest written
 * by an engine this build does not have (a newer Lifeboat) is a named error,
 * never a crash on an undefined engine.
 */
export function engineFor(name: string): Engine {
  const engine = byName.get(name);
  if (!engine) {
    throw new LifeboatError("UNKNOWN_ENGINE", `this Lifeboat has no engine named ${name}`, {
      details: { engine: name, known: engineNames },
      hint: `Known engines: ${engineNames.join(", ")}. A snapshot made by a newer Lifeboat needs that version to restore.`,
    });
  }
  return engine;
}
