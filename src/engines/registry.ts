// The one explicit list of engines. Adding an engine means adding it here
// and to the config schema; nothing registers itself by side effect.

import type { EngineName } from "../domain/snapshot.ts";
import type { Engine } from "./engine.ts";
import { filesEngine } from "./files/index.ts";
import { postgresEngine } from "./postgres/index.ts";
import { sqliteEngine } from "./sqlite/index.ts";

const engines: Record<EngineName, Engine> = {
  postgres: postgresEngine as Engine,
  sqlite: sqliteEngine as Engine,
  files: filesEngine as Engine,
};

export function engineFor(name: EngineName): Engine {
  return engines[name];
}
