// Which engine speaks to a URL a probe, a scenario action or a scenario's
// writer names: the scheme says it. They talk to running systems through the
// engines' own clients (queryScalar, executeSql, runCheckCommand), never a
// second copy of connection handling.

import type { Engine } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";

const engineOfScheme: Readonly<Record<string, string>> = {
  postgres: "postgres",
  postgresql: "postgres",
  mariadb: "mariadb",
  mysql: "mariadb",
  redis: "redis",
};

export function engineForUrl(
  context: { readonly engineFor: (name: string) => Engine },
  url: string,
  what: string,
): Engine {
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
