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
import { acquireLock, LIST_SETTLE_MS, listLocks, MAX_CLOCK_SKEW_MS, removeStaleLocks } from "./locks.ts";
import { LifeboatError } from "../errors.ts";
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
    refreshed: "2030-01-01T09:24:59.000Z", // 35 min 1 s before T0: beyond 30 min plus the 5 min skew
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
  const putsBefore = faulty.calls.put;
  await new Promise((resolve) => lock.signal.addEventListener("abort", resolve, { once: true }));
  // Not at the first failure: only once the next refresh would come too late. Counted in failed
  // refreshes rather than milliseconds, so a loaded machine's late timers cannot fail it.
  const failedRefreshes = faulty.calls.put - putsBefore;
  assert.ok(failedRefreshes >= 2, `aborted after ${failedRefreshes} failed refreshes`);
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

const minutes = (n: number) => n * 60_000;
const otherHostLock = (refreshed: Date): LockInfo => ({
  id: "skewed",
  kind: "exclusive",
  hostname: "clock-elsewhere",
  pid: 1,
  command: "prune",
  created: "2030-01-01T08:00:00.000Z",
  refreshed: refreshed.toISOString(),
});

test("another host's lock is stale only after the stale window plus the clock skew", async () => {
  assert.equal(MAX_CLOCK_SKEW_MS, minutes(5));
  const backend = new MemoryBackend();
  // 32 minutes old by our clock: past 30 min, but its host's clock may be up to 5 min behind ours.
  const withinSkew = otherHostLock(new Date(T0.getTime() - minutes(32)));
  await putLock(backend, withinSkew);
  await assert.rejects(acquireLock(backend, "shared", "backup", identity("here")), (e) =>
    isLifeboatError(e, "LOCKED"),
  );
  assert.deepEqual(await removeStaleLocks(backend, { now: () => T0, hostname: "here" }), []);

  const beyondSkew = otherHostLock(new Date(T0.getTime() - minutes(35) - 1000));
  await putLock(backend, beyondSkew);
  const lock = await acquireLock(backend, "shared", "backup", identity("here"));
  assert.deepEqual(
    (await listLocks(backend)).map((l) => l.id),
    [lock.info.id],
  );
  await lock.release();
});

test("this host's own lock needs no skew: 31 minutes unrefreshed is stale even with a live pid", async () => {
  const backend = new MemoryBackend();
  const own: LockInfo = { ...otherHostLock(new Date(T0.getTime() - minutes(31))), hostname: "here" };
  await putLock(backend, { ...own, pid: process.pid });
  assert.deepEqual(
    (await removeStaleLocks(backend, { now: () => T0, hostname: "here" })).map((l) => l.id),
    [own.id],
  );
});

test("a lock dated beyond the skew in the future blocks and says its host's clock is ahead", async () => {
  const backend = new MemoryBackend();
  await putLock(backend, otherHostLock(new Date(T0.getTime() + minutes(60))));
  await assert.rejects(acquireLock(backend, "shared", "backup", identity("here")), (e) => {
    assert.ok(isLifeboatError(e, "LOCKED"));
    assert.match(e.message, /ahead of this host's clock, more than the 5-minute skew/);
    assert.match(e.message, /unlock --remove-all/);
    return true;
  });
  // It expires only once our clock passes its refresh time plus the stale window and the skew.
  const judge = (now: Date) => removeStaleLocks(backend, { now: () => now, hostname: "here" });
  assert.deepEqual(await judge(new Date(T0.getTime() + minutes(60 + 35))), []);
  assert.equal((await judge(new Date(T0.getTime() + minutes(60 + 35) + 1000))).length, 1);
});

test("retryForMs waits for a held lock and takes it once released, telling onWait once", async () => {
  const backend = new MemoryBackend();
  const holder = await acquireLock(backend, "exclusive", "prune", identity("db-host", 4242));
  const waits: string[] = [];
  setTimeout(() => void holder.release(), 300);
  const started = Date.now();
  const lock = await acquireLock(backend, "shared", "backup", {
    ...identity("here"),
    retryForMs: 10_000,
    onWait: (message) => waits.push(message),
  });
  assert.ok(Date.now() - started < 5_000);
  assert.equal(waits.length, 1);
  assert.match(waits[0]!, /^waiting up to 10\.0s for the exclusive lock held by pid 4242 on host "db-host"/);
  await lock.release();
});

test("retryForMs gives up after its time with LOCKED naming the holder and the wait", async () => {
  const backend = new MemoryBackend();
  const holder = await acquireLock(backend, "exclusive", "prune", identity("db-host", 4242));
  const started = Date.now();
  await assert.rejects(
    acquireLock(backend, "shared", "backup", { ...identity("here"), retryForMs: 1_500 }),
    (e) => {
      assert.ok(isLifeboatError(e, "LOCKED"));
      assert.match(e.message, /pid 4242 on host "db-host" for "prune"/);
      assert.match(e.message, /still held after waiting 1\.\d\ds \(--retry-lock\)/);
      assert.ok(Number(e.details.waitedMs) >= 1_500);
      return true;
    },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1_500 && elapsed < 4_000, `took ${elapsed} ms`);
  // Every refused attempt removed its own lock object.
  assert.deepEqual(
    (await listLocks(backend)).map((l) => l.id),
    [holder.info.id],
  );
  await holder.release();
});

test("an abort during the wait stops it at once with the signal's reason", async () => {
  const backend = new MemoryBackend();
  const holder = await acquireLock(backend, "exclusive", "prune", identity("db-host", 4242));
  const abort = new AbortController();
  setTimeout(() => abort.abort(new LifeboatError("INTERRUPTED", "interrupted by SIGTERM")), 200);
  const started = Date.now();
  await assert.rejects(
    acquireLock(backend, "shared", "backup", {
      ...identity("here"),
      retryForMs: 60_000,
      signal: abort.signal,
    }),
    (e) => isLifeboatError(e, "INTERRUPTED"),
  );
  assert.ok(Date.now() - started < 1_000);
  await holder.release();
});
