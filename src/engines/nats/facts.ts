// What a fingerprint says about a JetStream server: per stream its message
// count, first and last sequence, deleted count, bytes and subjects; per
// durable consumer its positions (delivered and ack floor stream sequences,
// acks pending, messages pending, redelivered). The same reading serves the
// source (before and after each snapshot, to see whether anything moved)
// and a restored target.

import type { JetStreamManager, ConsumerInfo, StreamState } from "@nats-io/jetstream";
import type { Fingerprint } from "../../domain/fingerprint.ts";

export interface StreamCounts {
  readonly messages: number;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly num_deleted: number;
  readonly bytes: number;
  readonly num_subjects: number;
}

export interface ConsumerPositions {
  readonly name: string;
  readonly delivered: number;
  readonly delivered_consumer_seq: number;
  readonly ack_floor: number;
  readonly ack_pending: number;
  readonly pending: number;
  readonly redelivered: number;
}

export interface StreamFacts {
  readonly name: string;
  readonly counts: StreamCounts;
  /** Durable consumers only, sorted by name: ephemeral ones vanish by design. */
  readonly consumers: readonly ConsumerPositions[];
}

export function countsOf(state: StreamState): StreamCounts {
  return {
    messages: state.messages,
    // An empty stream has no first message: servers report 0 for a new one and 1 for a restored
    // one, so it is recorded as 0 (last_seq still says where the stream's sequence stands).
    first_seq: state.messages === 0 ? 0 : state.first_seq,
    last_seq: state.last_seq,
    num_deleted: state.num_deleted ?? 0,
    bytes: state.bytes,
    num_subjects: state.num_subjects ?? 0,
  };
}

export function positionsOf(info: ConsumerInfo): ConsumerPositions {
  return {
    name: info.name,
    delivered: info.delivered.stream_seq,
    delivered_consumer_seq: info.delivered.consumer_seq,
    ack_floor: info.ack_floor.stream_seq,
    ack_pending: info.num_ack_pending,
    pending: info.num_pending,
    redelivered: info.num_redelivered,
  };
}

export function isDurable(info: ConsumerInfo): boolean {
  return typeof info.config.durable_name === "string" && info.config.durable_name.length > 0;
}

/** Every durable consumer of a stream, with its config (for the configs artifact) and positions. */
export async function readConsumers(jsm: JetStreamManager, stream: string): Promise<ConsumerInfo[]> {
  const found: ConsumerInfo[] = [];
  for await (const info of jsm.consumers.list(stream)) if (isDurable(info)) found.push(info);
  return found.sort((left, right) => left.name.localeCompare(right.name));
}

export function factsFrom(
  stream: string,
  state: StreamState,
  consumers: readonly ConsumerInfo[],
): StreamFacts {
  return { name: stream, counts: countsOf(state), consumers: consumers.map(positionsOf) };
}

export async function readStreamFacts(jsm: JetStreamManager, stream: string): Promise<StreamFacts> {
  const info = await jsm.streams.info(stream);
  return factsFrom(stream, info.state, await readConsumers(jsm, stream));
}

/** Every stream of the account, sorted by name. */
export async function listStreamNames(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names.sort();
}

/** The first difference between two readings, in words, or undefined when they agree. */
export function firstChange(before: StreamFacts, after: StreamFacts): string | undefined {
  for (const key of Object.keys(before.counts) as (keyof StreamCounts)[]) {
    if (before.counts[key] !== after.counts[key]) {
      return `${key} went from ${before.counts[key]} to ${after.counts[key]}`;
    }
  }
  const names = (facts: StreamFacts) => facts.consumers.map((consumer) => consumer.name).join(",");
  if (names(before) !== names(after))
    return `durable consumers changed from [${names(before)}] to [${names(after)}]`;
  for (const [index, consumer] of before.consumers.entries()) {
    const other = after.consumers[index]!;
    for (const key of Object.keys(consumer) as (keyof ConsumerPositions)[]) {
      if (consumer[key] !== other[key]) {
        return `consumer ${consumer.name}: ${key} went from ${consumer[key]} to ${other[key]}`;
      }
    }
  }
  return undefined;
}

/** The fingerprint of a set of streams: exactly these keys, the same way for source and target. */
export function fingerprintOf(streams: readonly StreamFacts[]): Fingerprint {
  const counts: Record<string, number> = {};
  for (const stream of streams) {
    const name = stream.name;
    counts[`messages:${name}`] = stream.counts.messages;
    counts[`first_seq:${name}`] = stream.counts.first_seq;
    counts[`last_seq:${name}`] = stream.counts.last_seq;
    counts[`deleted:${name}`] = stream.counts.num_deleted;
    counts[`bytes:${name}`] = stream.counts.bytes;
    counts[`subjects:${name}`] = stream.counts.num_subjects;
    counts[`consumers:${name}`] = stream.consumers.length;
    for (const consumer of stream.consumers) {
      const at = `${name}/${consumer.name}`;
      counts[`delivered:${at}`] = consumer.delivered;
      counts[`delivered_consumer_seq:${at}`] = consumer.delivered_consumer_seq;
      counts[`ack_floor:${at}`] = consumer.ack_floor;
      counts[`ack_pending:${at}`] = consumer.ack_pending;
      counts[`pending:${at}`] = consumer.pending;
      counts[`redelivered:${at}`] = consumer.redelivered;
    }
  }
  return { counts, hashes: {} };
}
