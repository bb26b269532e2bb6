// The NATS client libraries, loaded on first use: every command loads every
// engine's definition, and commands that never talk to NATS should not pay
// for loading its transport and JetStream API.

import type * as Jetstream from "@nats-io/jetstream";
import type * as Transport from "@nats-io/transport-node";

let transport: Promise<typeof Transport> | undefined;
let jetstream: Promise<typeof Jetstream> | undefined;

export function natsTransport(): Promise<typeof Transport> {
  transport ??= import("@nats-io/transport-node");
  return transport;
}

export function natsJetstream(): Promise<typeof Jetstream> {
  jetstream ??= import("@nats-io/jetstream");
  return jetstream;
}
