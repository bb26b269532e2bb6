// What a refused recovery target says is reachable: from the end of the
// oldest base backup to the newest archived WAL, never to a moment before
// where it starts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { segmentName, type BaseBackup } from "../domain/wal.ts";
import { isLifeboatError } from "../errors.ts";
import { planRecovery, type ArchiveState } from "./pitr.ts";

const segmentSize = 16 * 1024 * 1024;
const backup: BaseBackup = {
  id: "5dcbcdc0aaaaaaaa",
  systemId: "7400000000000000001",
  timeline: 1,
  startLsn: 0x9a000028n,
  stopLsn: 0x9a000100n,
  stopTime: new Date("2026-12-04T01:58:49.194Z"),
  segmentSize,
};
const archiveWith = (pushedAt: string, segments: bigint[]): ArchiveState => ({
  names: new Set(segments.map((segment) => segmentName(1, segment, segmentSize))),
  histories: new Map(),
  newestPushedAt: new Map([[1, new Date(pushedAt)]]),
});

function reachableWhenRefused(archive: ArchiveState): string {
  const target = {
    kind: "time",
    time: new Date("2026-12-05T00:00:00Z"),
    text: "2026-12-05 00:00:00+00",
  } as const;
  try {
    planRecovery({ backups: [backup], archive, target });
  } catch (error) {
    assert.ok(isLifeboatError(error), String(error));
    return error.message;
  }
  assert.fail("a target a day past the archive must be refused");
}

test("with WAL archived after the backup, the range ends at its push time", () => {
  const message = reachableWhenRefused(archiveWith("2026-12-04T02:30:00.000Z", [0x9an, 0x9bn, 0x9cn]));
  assert.match(
    message,
    /from 2026-12-04T01:58:49\.194Z .* to about 2026-12-04T02:30:00\.000Z \(newest archived WAL\)/,
  );
});

test("with only the backup's own segment archived (pushed just before its end), the range ends at the backup's end", () => {
  const message = reachableWhenRefused(archiveWith("2026-12-04T01:58:48.457Z", [0x9an]));
  assert.match(
    message,
    /to 2026-12-04T01:58:49\.194Z \(the end of the newest base backup; no WAL archived since\)/,
  );
  const reachable = message.slice(message.indexOf("reachable:"));
  assert.doesNotMatch(reachable, /01:58:48/, "no end before the start");
});

// Stream heads (wal-stream): the streamed part of the newest, unfinished segment.
const withHead = (segments: bigint[], head: bigint, upTo: bigint): ArchiveState => {
  const name = segmentName(1, head, segmentSize);
  return {
    ...archiveWith("2026-12-04T02:30:00.000Z", segments),
    heads: new Map([[name, { segment: name, upTo, pushedAt: new Date("2026-12-04T02:31:00.000Z") }]]),
  };
};

test("a stream head stands in for the last segment: latest reads it after the whole ones", () => {
  const plan = planRecovery({
    backups: [backup],
    archive: withHead([0x9an, 0x9bn], 0x9cn, 0x9c000400n),
    target: { kind: "latest" },
  });
  assert.deepEqual(
    plan.walFiles,
    [0x9an, 0x9bn, 0x9cn].map((n) => segmentName(1, n, segmentSize)),
  );
});

test("a stream head never fills a gap before the last segment", () => {
  // 0x9b is missing: the head of 0x9c cannot make the chain whole.
  assert.throws(
    () =>
      planRecovery({
        backups: [backup],
        archive: withHead([0x9an], 0x9cn, 0x9c000400n),
        target: { kind: "latest" },
      }),
    (error: unknown) =>
      isLifeboatError(error, "WAL_GAP") && /9B, which is not in the archive/.test(error.message),
  );
});

test("an LSN inside the stream head is reachable; one past what it holds is refused, naming it", () => {
  const archive = withHead([0x9an, 0x9bn], 0x9cn, 0x9c000400n);
  const plan = planRecovery({ backups: [backup], archive, target: { kind: "lsn", lsn: 0x9c000300n } });
  assert.equal(plan.lastSegment, segmentName(1, 0x9cn, segmentSize));
  assert.throws(
    () => planRecovery({ backups: [backup], archive, target: { kind: "lsn", lsn: 0x9c000500n } }),
    (error: unknown) =>
      isLifeboatError(error, "PITR_TARGET_UNREACHABLE") &&
      /past the newest streamed WAL \(LSN 0\/9C000400\)/.test(error.message),
  );
});

test("a time up to the head's store is reachable: the head's push time bounds the archive", () => {
  const archive = withHead([0x9an, 0x9bn], 0x9cn, 0x9c000400n);
  const inside = {
    kind: "time",
    time: new Date("2026-12-04T02:30:30Z"),
    text: "2026-12-04 02:30:30+00",
  } as const;
  // The archive state's newest push time is the head's (readArchiveState sets it so).
  const state = { ...archive, newestPushedAt: new Map([[1, new Date("2026-12-04T02:31:00.000Z")]]) };
  assert.equal(planRecovery({ backups: [backup], archive: state, target: inside }).walFiles.length, 3);
});
