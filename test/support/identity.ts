// A boolean view of Engine.identifyTarget for tests that only ask "is this the source?".

import type { Engine, EngineContext } from "../../src/engines/engine.ts";

export async function isSameTarget<C extends { engine: string }>(
  engine: Engine<C>,
  source: C,
  target: string,
  context: EngineContext,
): Promise<boolean> {
  return (await engine.identifyTarget(source, target, context)).verdict === "same";
}
