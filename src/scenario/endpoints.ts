// Which engine speaks to a URL a scenario names (a probe's, an action's, the
// writer's): the scheme says it. Scenarios talk to running systems through
// the engines' own clients (queryScalar, executeSql, runCheckCommand), never
// a second copy of connection handling.

import type { Engine, EngineContext } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";

const engineOfScheme: Readonly<Record<string, string>> = {
  postgres: "postgres",
  postgresql: "postgres",
  mariadb: "mariadb",
  mysql: "mariadb",
  redis: "redis",
};

export interface ScenarioContext {
  readonly engineFor: (name: string) => Engine;
  readonly engineContext: EngineContext;
  readonly now: () => Date;
  readonly signal?: AbortSignal | undefined;
  /** Run `lifeboat ARGS` (a restore action); the CLI supplies it, with the repository's credentials. */
  readonly runLifeboat: (
    args: readonly string[],
    timeoutSeconds: number,
  ) => Promise<{ ok: boolean; detail: string }>;
}

export function engineForUrl(context: ScenarioContext, url: string, what: string): Engine {
  const scheme = /^([a-z]+):\/\//.exec(url)?.[1] ?? "";
  const name = engineOfScheme[scheme];
  if (!name) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${what}: ${scheme ? `${scheme}://` : "this"} URL is not one Lifeboat can talk to`,
      {
        hint: "Use a postgres://, mariadb:// or redis:// URL.",
      },
    );
  }
  return context.engineFor(name);
}
