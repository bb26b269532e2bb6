// The WAL archive commands PostgreSQL runs: wal-push (archive_command) and
// wal-fetch (restore_command), and the reading of an archive's state that
// restore planning and check share.
//
// wal-push reads the whole file first and stores it with one PUT that either
// lands whole or not at all, so a push killed at any point leaves nothing
// half-written and PostgreSQL's retry (it keeps the file until a push exits
// 0) succeeds. The same bytes pushed twice succeed; other bytes under an
// archived name are refused (WAL_CONFLICT), exiting non-zero so PostgreSQL
// keeps the file and retries while the operator is told.

import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import type { SourceConfig } from "../engines/config.ts";
import type { PitrSupport } from "../engines/engine.ts";
import {
  parseHistoryFile,
  parseLsn,
  parseWalFileName,
  segmentOfStreamHead,
  streamHeadName,
  requireWalFileName,
  segmentNumberOfName,
  type TimelineSwitch,
  type WalFiles,
} from "../domain/wal.ts";
import { LifeboatError } from "../errors.ts";
import type { ArchiveState, StreamHead } from "../plan/pitr.ts";
import type { WalArchive, WalPushResult } from "../repository/wal-archive.ts";
import type { OperationContext } from "./context.ts";

export function walFilesOf(archive: WalArchive): WalFiles {
  return {
    list: () => archive.list(),
    read: async (name) => (await archive.read(name))?.data,
  };
}

/** The engine's PITR support for a source, or a usage error naming what the source is. */
export function pitrOf(
  context: OperationContext,
  name: string,
  source: SourceConfig,
): PitrSupport<SourceConfig> {
  const engine = context.engineFor(source.engine);
  const pitr = engine.pitr as PitrSupport<SourceConfig> | undefined;
  if (!pitr || !pitr.takesBaseBackups(source)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `source ${name} takes no physical backups, so it has no WAL archive`,
      {
        hint: `Set \`mode: physical\` (or both) on ${name} in lifeboat.yaml; only postgres sources archive WAL.`,
      },
    );
  }
  return pitr;
}

export interface WalPushRequest {
  readonly sourceName: string;
  readonly source: SourceConfig;
  /** %p: the file's path, relative to the data directory archive_command runs in. */
  readonly path: string;
  readonly now?: Date;
}

export interface WalPushOutcome extends WalPushResult {
  readonly name: string;
  readonly systemId: string;
  readonly bytes: number;
}

export async function walPush(context: OperationContext, request: WalPushRequest): Promise<WalPushOutcome> {
  const pitr = pitrOf(context, request.sourceName, request.source);
  const name = requireWalFileName(basename(request.path)).name;
  // Read first: a path that is not there (a hand-typed one) is a bad argument, not a failure inside.
  let data: Buffer;
  try {
    data = await readFile(request.path);
  } catch (error) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `cannot read WAL file ${request.path}: ${(error as Error).message}`,
      {
        cause: error,
        hint: "wal-push takes the path PostgreSQL passes as %p (relative to the data directory archive_command runs in).",
      },
    );
  }
  const systemId = await pitr.systemIdOfWalFile(request.path, name);
  context.signal?.throwIfAborted();
  const archive = context.repository.walArchive(request.sourceName, systemId);
  const result = await archive.push(name, data, request.now ?? context.now());
  return { ...result, name, systemId, bytes: data.length };
}

export interface WalFetchRequest {
  readonly sourceName: string;
  readonly source: SourceConfig;
  /** %f: the file PostgreSQL asks for. */
  readonly name: string;
  /** %p: where to write it. */
  readonly destination: string;
  /** The cluster; absent: the data directory the command runs in, else the source's only archived cluster. */
  readonly systemId?: string;
}

/** Returns false when the file is not archived (PostgreSQL then ends recovery or tries another source). */
export async function walFetch(context: OperationContext, request: WalFetchRequest): Promise<boolean> {
  const pitr = pitrOf(context, request.sourceName, request.source);
  const name = requireWalFileName(request.name).name;
  const systemId = request.systemId ?? (await clusterOfHere(context, request.sourceName, pitr));
  // A segment not archived yet may be streamed (wal-stream): its head is the newest WAL there is.
  const found = await context.repository.walArchive(request.sourceName, systemId).readForRecovery(name);
  if (!found) return false;
  // Whole or not at all: PostgreSQL reads the file as soon as the command exits 0.
  const partial = `${request.destination}.lifeboat-partial`;
  try {
    await writeFile(partial, found.data, { mode: 0o600 });
    await rename(partial, request.destination);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return true;
}

async function clusterOfHere(
  context: OperationContext,
  sourceName: string,
  pitr: PitrSupport<SourceConfig>,
): Promise<string> {
  try {
    return await pitr.systemIdOfDataDir(process.cwd());
  } catch {
    const clusters = await context.repository.listWalClusters(sourceName);
    if (clusters.length === 1) return clusters[0]!;
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `wal-fetch runs outside a data directory and source ${sourceName} has WAL of ${clusters.length} clusters`,
      { hint: "Pass --system-id (Lifeboat's restore writes it into restore_command)." },
    );
  }
}

/**
 * What a cluster's archive holds, for planning and check: names, timeline
 * histories, newest push per timeline, and the stream head past the newest
 * archived segment of each timeline (older heads are leftovers: their whole
 * segment is archived or about to be).
 */
export async function readArchiveState(archive: WalArchive, segmentSize: number): Promise<ArchiveState> {
  const listed = await archive.list();
  const names = new Set<string>();
  const histories = new Map<number, readonly TimelineSwitch[]>();
  const newest = new Map<number, string>();
  const newestHead = new Map<number, string>();
  const later = (current: string | undefined, name: string) =>
    !current || segmentNumberOfName(name, segmentSize) > segmentNumberOfName(current, segmentSize);
  for (const name of listed) {
    const headOf = segmentOfStreamHead(name);
    if (headOf !== undefined) {
      const timeline = parseInt(headOf.slice(0, 8), 16);
      if (later(newestHead.get(timeline), headOf)) newestHead.set(timeline, headOf);
      continue;
    }
    names.add(name);
    const parsed = parseWalFileName(name);
    if (parsed?.kind === "history") {
      const file = await archive.read(name);
      if (file) histories.set(parsed.timeline, parseHistoryFile(file.data.toString("utf8")));
    } else if (parsed?.kind === "segment" && later(newest.get(parsed.timeline), name)) {
      newest.set(parsed.timeline, name);
    }
  }
  const newestPushedAt = new Map<number, Date>();
  for (const [timeline, name] of newest) {
    const file = await archive.read(name);
    if (file) newestPushedAt.set(timeline, new Date(file.header.pushedAt));
  }
  const heads = new Map<string, StreamHead>();
  for (const [timeline, segment] of newestHead) {
    if (!later(newest.get(timeline), segment)) continue;
    const file = await archive.read(streamHeadName(segment));
    if (!file?.header.upTo) continue;
    const pushedAt = new Date(file.header.pushedAt);
    heads.set(segment, { segment, upTo: parseLsn(file.header.upTo), pushedAt });
    newestPushedAt.set(timeline, pushedAt);
  }
  return { names, histories, newestPushedAt, heads };
}
