// What a scenario's probes, actions and writer reach running systems with.
// Which engine speaks to a URL is decided in one place for scenarios and
// readiness probes alike (operations/engine-for-url.ts).

import type { Engine, EngineContext } from "../engines/engine.ts";

export { engineForUrl } from "../operations/engine-for-url.ts";

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
