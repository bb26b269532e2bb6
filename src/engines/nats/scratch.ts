// Scratch targets for NATS drills: a throwaway local `nats-server -js`
// (local-server.ts) that destroy() stops and deletes. It is a new server
// with its own random server_id and store, so it can never be the source.
// A configured scratch server (drill.target.url) is not supported: a shared
// server would need its streams cleaned between drills, with the source's
// names, which is the one thing a drill must never do near production.

import { LifeboatError } from "../../errors.ts";
import type { EngineContext, ScratchRequest, ScratchTarget } from "../engine.ts";
import type { NatsSourceConfig } from "./config.ts";
import { startLocalNatsServer } from "./local-server.ts";

export async function provisionNatsScratch(
  _source: NatsSourceConfig,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  if (request.target?.url || request.target?.path) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "nats drills restore into a throwaway local nats-server; drill.target is not used",
      {
        hint: "Remove drill.target from the source: Lifeboat starts (and removes) its own nats-server for each drill.",
      },
    );
  }
  const server = await startLocalNatsServer(`drill-${request.label}`, context);
  return {
    target: server.url,
    description: `throwaway nats-server at ${server.address} (store in ${server.dir})`,
    // The server admits only its own token, which stays inside Lifeboat: checks get the address only.
    env: { NATS_URL: server.url, LIFEBOAT_TARGET: server.url },
    destroy: server.stop,
    keep: async () => server.keep(),
  };
}
