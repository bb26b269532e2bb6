// Measure a snapshot by restoring it: for a stream that kept changing while
// it was snapshotted, the source's own readings bracket the copy but do not
// describe it. Restoring the spooled snapshot into a throwaway local
// nats-server and reading it there gives the facts of exactly the bytes
// stored, which is what a later restore is compared with.

import { createReadStream } from "node:fs";
import type { EngineContext } from "../engine.ts";
import { openManager, targetEndpoint, withConnection } from "./connection.ts";
import { readStreamFacts, type StreamFacts } from "./facts.ts";
import type { SnapshotResponse } from "./jetstream-api.ts";
import { startLocalNatsServer } from "./local-server.ts";
import { sendSnapshot } from "./snapshot-send.ts";

export async function measureSnapshot(
  spool: string,
  snapshot: SnapshotResponse,
  context: EngineContext,
): Promise<StreamFacts> {
  const server = await startLocalNatsServer(`measure-${snapshot.config.name}`, context);
  try {
    return await withConnection(targetEndpoint(server.url), "TARGET_UNREACHABLE", async (connection) => {
      await sendSnapshot(
        connection,
        snapshot.config,
        snapshot.state,
        createReadStream(spool),
        context.signal,
      );
      return readStreamFacts(await openManager(connection, "target"), snapshot.config.name);
    });
  } finally {
    await server.stop();
  }
}
