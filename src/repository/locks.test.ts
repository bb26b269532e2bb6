import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { FsBackend } from "../storage/fs.ts";
import { MemoryBackend } from "../storage/memory.ts";
import { FaultyBackend } from "../../test/support/faulty-backend.ts";
import { acquireLock, LIST_SETTLE_MS, listLocks, removeStaleLocks } from "./locks.ts";
import type { LockInfo } from "./types.ts";

const T0 = new Date("2030-01-01T10:00:00.000Z");
const clock = (start = T0) => {
  let current = start;
  return { now: () => current, set: (d: Date) => (current = d) };
};
const identity = (host: string, pid = process.pid) => ({ hostname: host, pid, now: () => T0 });

async function putLock(backend: Backend, info: LockInfo): Promise<void> {
  await backend.put(`locks/${info.id}`, new TextEncoder().encode(JSON.stringify(info)));
}

function deadPid(): number {
  // A process that has exited: its pid no longer exists (reuse within a test is vanishingly unlikely).
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(child.pid);
  return child.pid;
}

test("shared locks coexist", async () => {
  const backend = new MemoryBackend();
  const a = await acquireLock(backend, "shared", "backup", identity("host-a", 100));
  const b = await acquireLock(backend, "shared", "drill", identity("host-b", 200));
  const held = await listLocks(backend);
  assert.deepEqual(held.map((l) => l.command).sort(), ["backup", "drill"]);
  assert.deepEqual(
    held.find((l) => l.id === a.info.id),
    a.info,
  );
  await a.release();
  await b.release();
  assert.deepEqual(await listLocks(backend), []);
});

test("an exclusive lock is refused while a shared lock is held, naming the holder", async () => {
  const backend = new MemoryBackend();
  const shared = await acquireLock(backend, "shared", "backup", identity("db-host", 4242));
  await assert.rejects(acquireLock(backend, "exclusive", "prune", identity("other-host", 7)), (error) => {
    assert.ok(isLifeboatError(error, "LOCKED"));
    for (const fact of ["shared", "db-host", "4242", '"backup"', T0.toISOString()]) {
      assert.ok(error.message.includes(fact), `message lacks ${fact}: ${error.message}`);
    }
    assert.deepEqual(error.details.holder, shared.info);
    return true;
  });
  // The refused attempt removed its own lock object.
  assert.deepEqual(
    (await listLocks(backend)).map((l) => l.id),
    [shared.info.id],
  );
  await shared.release();
  const exclusive = await acquireLock(backend, "exclusive", "prune", identity("other-host", 7));
  await exclusive.release();
});

test("an exclusive lock blocks shared and exclusive locks", async () => {
  const backend = new MemoryBackend();
  const prune = await acquireLock(backend, "exclusive", "prune", identity("h1", 1));
  for (const kind of ["shared", "exclusive"] as const) {
    await assert.rejects(
      acquireLock(backend, kind, "backup", identity("h2", 2)),
      (e) =>
        isLifeboatError(e, "LOCKED") &&
        e.message.includes("exclusive lock held by pid 1") &&
        e.message.includes("prune"),
    );
  }
  assert.equal((await listLocks(backend)).length, 1);
  await prune.release();
});

test("a lock left by a dead process on this host is removed and does not block", async () => {
  const backend = new MemoryBackend();
  const dead: LockInfo = {
    id: "deadbeef",
    kind: "exclusive",
    hostname: hostname(),
    pid: deadPid(),
    command: "prune",
    created: T0.toISOString(),
    refreshed: T0.toISOString(),
  };
  await putLock(backend, dead);
  const lock = await acquireLock(backend, "shared", "backup", { now: () => T0 });
  assert.deepEqual(
    (await listLocks(backend)).map((l) => l.id),
    [lock.info.id],
  );
  await lock.release();
});

test("a fresh lock of a live process on this host, or of any pid on another host, blocks", async () => {
  const backend = new MemoryBackend();
  const otherHostDeadPid: LockInfo = {
    id: "elsewhere",
    kind: "exclusive",
    hostname: "some-other-host",
    pid: deadPid(), // dead here, but that says nothing about another machine
    command: "prune",
    created: T0.toISOString(),
    refreshed: T0.toISOString(),
  };
  await putLock(backend, otherHostDeadPid);
  await assert.rejects(acquireLock(backend, "shared", "backup", { now: () => T0 }), (e) =>
    isLifeboatError(e, "LOCKED"),
  );
  assert.deepEqual(await removeStaleLocks(backend, { now: () => T0 }), []);
});

test("an old unrefreshed lock from another host is stale: ignored, removed, reported", async () => {
  const backend = new MemoryBackend();
  const old: LockInfo = {
    id: "0ld",
    kind: "exclusive",
    hostname: "gone-host",
    pid: 1,
    command: "prune",
    created: "2030-01-01T08:00:00.000Z",
    refreshed: "2030-01-01T09:29:59.000Z", // 30 min 1 s before T0
  };
  await putLock(backend, old);
  assert.deepEqual(await removeStaleLocks(backend, { now: () => T0, staleAfterMs: 31 * 60_000 }), []);
  assert.deepEqual(await removeStaleLocks(backend, { now: () => T0 }), [old]);
  assert.deepEqual(await listLocks(backend), []);

  await putLock(backend, old);
  const lock = await acquireLock(backend, "exclusive", "prune", identity("here"));
  assert.deepEqual(
    (await listLocks(backend)).map((l) => l.id),
    [lock.info.id],
  );
  await lock.release();
});

test("release deletes the lock object and is idempotent", async () => {
  const backend = new MemoryBackend();
  const lock = await acquireLock(backend, "exclusive", "prune", identity("h"));
  assert.ok(await backend.stat(`locks/${lock.info.id}`));
  await lock.release();
  await lock.release();
  assert.equal(await backend.stat(`locks/${lock.info.id}`), undefined);
});

test("a held lock refreshes its `refreshed` time on its timer", async () => {
  const backend = new MemoryBackend();
  const time = clock();
  const lock = await acquireLock(backend, "shared", "backup", { now: time.now, refreshEveryMs: 5 });
  assert.equal(lock.info.refreshed, T0.toISOString());
  const later = new Date(T0.getTime() + 60_000);
  time.set(later);
  // Wait for the timer to fire (no time bound asserted; the test runner's timeout is the limit).
  const refreshedLater = async () =>
    (await listLocks(backend))[0]?.refreshed === later.toISOString() &&
    lock.info.refreshed === later.toISOString();
  while (!(await refreshedLater())) await delay(5);
  assert.equal(lock.info.created, T0.toISOString());
  await lock.release();
  assert.deepEqual(await listLocks(backend), []);
});

test("a held lock removed by someone else is reported lost, not silently re-created", async () => {
  const backend = new MemoryBackend();
  const lost: LockInfo[] = [];
  const lock = await acquireLock(backend, "shared", "backup", {
    refreshEveryMs: 5,
    onLost: (i) => lost.push(i),
  });
  await removeStaleLocks(backend, { all: true });
  while (lost.length === 0) await delay(5);
  assert.equal(lost[0]!.id, lock.info.id);
  assert.deepEqual(await listLocks(backend), []);
  // The holder learns it through the signal too, with a named error.
  assert.ok(lock.signal.aborted);
  assert.ok(isLifeboatError(lock.signal.reason, "LOCK_LOST"));
  assert.match((lock.signal.reason as Error).message, /removed by another process/);
  await lock.release();
});

test("refreshes failing until the lease could lapse abort the lock's signal with LOCK_LOST", async () => {
  const faulty = new FaultyBackend(new MemoryBackend());
  const lock = await acquireLock(faulty, "shared", "restore", { refreshEveryMs: 10, staleAfterMs: 120 });
  faulty.plan.failPut = { match: /^locks\//, retryable: false };
  const started = Date.now();
  await new Promise((resolve) => lock.signal.addEventListener("abort", resolve, { once: true }));
  // Not at the first failure: only once the next refresh would come too late.
  assert.ok(Date.now() - started >= 80, `aborted after ${Date.now() - started} ms`);
  assert.ok(isLifeboatError(lock.signal.reason, "LOCK_LOST"));
  assert.match((lock.signal.reason as Error).message, /could not be refreshed/);
  await lock.release();
  assert.deepEqual(await listLocks(faulty), [], "release still removes the object it left");
});

test("one failed refresh well inside the lease does not lose the lock", async () => {
  const faulty = new FaultyBackend(new MemoryBackend());
  const lock = await acquireLock(faulty, "shared", "restore", { refreshEveryMs: 10, staleAfterMs: 10_000 });
  faulty.plan.failPut = { match: /^locks\//, times: 1, retryable: false };
  while (faulty.plan.failPut.times! > 0) await delay(5);
  await delay(40);
  assert.equal(lock.signal.aborted, false);
  await lock.release();
});

test("on a store whose listings may lag, acquiring waits before looking for other locks", async () => {
  const waits: number[] = [];
  const lagging = new FaultyBackend(new MemoryBackend(), {
    capabilities: { listAfterWriteConsistent: false },
  });
  const lock = await acquireLock(lagging, "shared", "backup", {
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  assert.deepEqual(waits, [LIST_SETTLE_MS]);
  await lock.release();
  const consistent = await acquireLock(new MemoryBackend(), "shared", "backup", {
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  assert.deepEqual(waits, [LIST_SETTLE_MS], "a consistent store does not wait");
  await consistent.release();
});

test("an unreadable lock object blocks, is named, and only goes with all: true", async () => {
  const backend = new MemoryBackend();
  await backend.put("locks/garbage", new TextEncoder().encode("{not json"));
  await assert.rejects(
    acquireLock(backend, "shared", "backup"),
    (e) => isLifeboatError(e, "LOCKED") && e.message.includes("locks/garbage"),
  );
  assert.deepEqual(await removeStaleLocks(backend), []);
  assert.equal((await removeStaleLocks(backend, { all: true })).length, 1);
  const lock = await acquireLock(backend, "shared", "backup");
  await lock.release();
});

test("locks work the same on the filesystem backend, and racing exclusive lockers never both win", async () => {
  const root = await mkdtemp(join(tmpdir(), "lifeboat-locks-"));
  try {
    const backend = new FsBackend(root);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => acquireLock(backend, "exclusive", `prune-${i}`, identity("h"))),
    );
    const winners = results.filter((r) => r.status === "fulfilled");
    assert.ok(winners.length <= 1, `${winners.length} exclusive locks held at once`);
    for (const r of results) {
      if (r.status === "rejected") assert.ok(isLifeboatError(r.reason, "LOCKED"));
      else await r.value.release();
    }
    assert.deepEqual(await listLocks(backend), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
