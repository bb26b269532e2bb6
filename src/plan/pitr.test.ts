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
