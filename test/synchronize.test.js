// Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier: in one
// process, across real processes, across threads, and with holders that die.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  AssertionError, Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, OSError, RLock, Semaphore,
  ValueError, Value, RawArray, SharedArray, getContext, TypeError as BilliardTypeError,
} from 'billiard';
import { SYNC_TASKS, assertNoLeaks, child, elapsed, reapAll, tasks } from './fixtures/sync-helpers.js';

after(async () => {
  await reapAll();
  await assertNoLeaks();
});

// ---- Lock -------------------------------------------------------------------------------
test('Lock: acquire, release, non-blocking and timed acquire, CPython errors and repr', async () => {
  const lock = new Lock();
  assert.equal(String(lock), '<Lock(owner=None)>');
  assert.equal(await lock.acquire(), true);
  assert.equal(String(lock), '<Lock(owner=MainProcess)>');
  assert.equal(await lock.acquire({ block: false }), false);
  assert.equal(lock.acquireSync({ block: false, timeout: 10_000 }), false, 'block: false ignores timeout');
  let t0 = performance.now();
  assert.equal(await lock.acquire({ timeout: 50 }), false);
  assert.ok(elapsed(t0) < 2000);
  t0 = performance.now();
  assert.equal(lock.acquireSync({ timeout: -5 }), false, 'negative timeout counts as 0');
  assert.ok(elapsed(t0) < 2000);
  lock.release();
  assert.throws(() => lock.release(), (e) => e instanceof ValueError && e.message === 'semaphore or lock released too many times');
  assert.equal(lock.acquireSync(), true);
  assert.equal(lock.ownerDied, false);
  lock.release();
});

test('Lock: withLock and holdSync scopes release on exit, also on error', async () => {
  const lock = new Lock();
  assert.equal(await lock.withLock(() => 7), 7);
  await assert.rejects(lock.withLock(async () => { throw new Error('boom'); }), /boom/);
  assert.equal(lock.acquireSync({ block: false }), true);
  lock.release();
  const held = lock.holdSync(); // `using held = …` where the runtime has it
  try {
    assert.equal(lock.acquireSync({ block: false }), false);
  } finally {
    held[Symbol.dispose]();
  }
  assert.equal(lock.acquireSync({ block: false }), true);
  lock.release();
});

test('Lock: two processes incrementing a Value under it lose no update (sync and async APIs)', async () => {
  const lock = new Lock();
  const counter = Value('i', 0);
  const a = child('incrementSync', [lock, counter, 3000]);
  const b = child('incrementAsync', [lock, counter, 3000]);
  await Promise.all([a.join(), b.join()]);
  assert.deepEqual([a.exitcode, b.exitcode], [0, 0]);
  assert.equal(counter.value, 6000);
});

test('Lock: release by another process is allowed (CPython); RLock release by a non-owner is an AssertionError', async () => {
  const lock = new Lock();
  lock.acquireSync();
  const p = child('releaseOther', [lock]);
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.equal(lock.acquireSync({ block: false }), true, 'released by the child');
  lock.release();

  const rlock = new RLock();
  rlock.acquireSync();
  const q = child('releaseOther', [rlock]);
  await q.join();
  assert.equal(q.exitcode, 4);
  rlock.release();
});

test('Lock: a held lock blocks another process until released; the waiter wakes promptly', async () => {
  const lock = new Lock();
  lock.acquireSync();
  const p = child('tryAcquire', [lock, 20_000]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(p.exitcode, null, 'child still waiting');
  lock.release();
  await p.join(10_000);
  assert.equal(p.exitcode, 0);
});

// ---- owner death -----------------------------------------------------------------------
test('Lock: a SIGKILLed holder does not block others; the next acquirer learns ownerDied', async () => {
  for (const Kind of [Lock, RLock]) {
    const lock = new Kind();
    const held = new Event();
    const p = child('holdForever', [lock, held]);
    assert.equal(await held.wait(20_000), true);
    assert.equal(await lock.acquire({ block: false }), false);
    p.kill();
    await p.join();
    const t0 = performance.now();
    assert.equal(await lock.acquire({ timeout: 5000 }), true, `${Kind.name} taken over`);
    assert.ok(elapsed(t0) < 3000, `took ${elapsed(t0)} ms`);
    assert.equal(lock.ownerDied, true);
    lock.release();
    assert.equal(lock.acquireSync(), true);
    assert.equal(lock.ownerDied, false, 'a normal acquire clears it');
    lock.release();
  }
});

test('Lock: a holder that exits without releasing; blocking acquireSync in the parent takes over', async () => {
  const lock = new Lock();
  const p = child('takeAndExit', [lock]);
  await p.join();
  assert.equal(p.exitcode, 0);
  const t0 = performance.now();
  // The parent's event loop does not run while it blocks: the dead child is a zombie, still dead.
  assert.equal(lock.acquireSync({ timeout: 5000 }), true);
  assert.ok(elapsed(t0) < 3000);
  assert.equal(lock.ownerDied, true);
  lock.release();
});

test('Lock and Semaphore: blocked waiters in worker threads of this process', async () => {
  const lock = new Lock();
  const counter = Value('i', 0);
  const { codec } = await import('../dist/wire/codec.js');
  const { body } = codec.encode([lock, counter]);
  const src = `
    import { workerData, parentPort } from 'node:worker_threads';
    import 'billiard';
    const { codec } = await import(${JSON.stringify(new URL('../dist/wire/codec.js', import.meta.url).href)});
    const [lock, counter] = codec.decode(workerData).value;
    for (let i = 0; i < 2000; i++) { lock.acquireSync(); counter.getObj().value += 1; lock.release(); }
    for (let i = 0; i < 200; i++) { await lock.acquire(); counter.getObj().value += 1; lock.release(); }
    parentPort.postMessage('done');`;
  const workers = [0, 1].map(() => new Worker(src, { eval: true, workerData: body, type: 'module' }));
  for (let i = 0; i < 500; i++) await lock.withLock(() => { counter.getObj().value += 1; });
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })));
  await Promise.all(workers.map((w) => w.terminate()));
  assert.equal(counter.value, 2 * 2200 + 500);
});

// ---- RLock ---------------------------------------------------------------------------------
test('RLock: re-entrant, repr, release un-acquired is an AssertionError', async () => {
  const r = new RLock();
  assert.equal(String(r), '<RLock(None, 0)>');
  assert.equal(await r.acquire(), true);
  assert.equal(r.acquireSync(), true);
  assert.equal(String(r), '<RLock(MainProcess, 2)>');
  r.release();
  r.release();
  assert.throws(() => r.release(), (e) => e instanceof AssertionError &&
    e.message === 'attempt to release recursive lock not owned by thread');
});

// ---- Semaphore ---------------------------------------------------------------------------
test('Semaphore and BoundedSemaphore: counting, getValue, release(n), errors, repr', async () => {
  const s = new Semaphore(2);
  assert.equal(String(s), '<Semaphore(value=2)>');
  assert.equal(await s.acquire(), true);
  assert.equal(s.acquireSync(), true);
  assert.equal(await s.acquire({ timeout: 20 }), false);
  assert.equal(s.getValue(), 0);
  s.release(3);
  assert.equal(s.getValue(), 3, 'a plain Semaphore may go above its initial value');
  assert.throws(() => new Semaphore(-1), (e) => e instanceof OSError && e.errno === 'EINVAL');
  // A bad timeout is an error even when a unit is free (and takes none).
  assert.throws(() => s.acquire({ timeout: NaN }), ValueError);
  assert.throws(() => s.acquireSync({ timeout: NaN }), ValueError);
  assert.equal(s.getValue(), 3);

  const b = new BoundedSemaphore(2);
  assert.equal(String(b), '<BoundedSemaphore(value=2, maxvalue=2)>');
  assert.throws(() => b.release(), (e) => e instanceof ValueError && e.message === 'semaphore or lock released too many times');
  b.acquireSync();
  b.release();
  assert.equal(b.getValue(), 2);
});

test('Semaphore: at most n holders across processes', async () => {
  const sem = new Semaphore(2);
  const counters = RawArray('i', 2); // [in use, most seen in use]
  const ps = [0, 1, 2].map(() => child('semaphoreUser', [sem, counters, 300]));
  await Promise.all(ps.map((p) => p.join()));
  assert.deepEqual(ps.map((p) => p.exitcode), [0, 0, 0]);
  assert.ok(counters[1] <= 2 && counters[1] >= 1, `max ${counters[1]}`);
  assert.equal(counters[0], 0);
  assert.equal(sem.getValue(), 2);
});

// ---- Condition -----------------------------------------------------------------------------
test('Condition: use without the lock raises CPython errors; wait times out', async () => {
  const c = new Condition();
  await assert.rejects(c.wait(10), (e) => e instanceof AssertionError && e.message === 'must acquire() condition before using wait()');
  assert.throws(() => c.waitSync(10), AssertionError);
  assert.throws(() => c.notify(), (e) => e instanceof AssertionError && e.message === 'lock is not owned');
  assert.throws(() => c.notifyAll(), AssertionError);
  await c.acquire();
  const t0 = performance.now();
  assert.equal(await c.wait(30), false);
  assert.ok(elapsed(t0) < 2000);
  assert.equal(c.waitSync(10), false);
  c.notify(); // nobody waits: not remembered
  assert.equal(c.waitSync(30), false);
  c.release();
});

test('Condition: notify wakes waiters in other processes (async and sync), waitFor returns the predicate', async () => {
  for (const name of ['conditionWaiter', 'conditionWaiterSync']) {
    const cond = new Condition(new Lock());
    const flag = Value('i', 0);
    const result = Value('i', -1);
    const started = new Semaphore(0);
    const p = child(name, [cond, flag, started, result]);
    assert.equal(await started.acquire({ timeout: 20_000 }), true);
    await cond.acquire();
    flag.value = 1;
    cond.notifyAll();
    cond.release();
    await p.join(20_000);
    assert.equal(p.exitcode, 0, name);
    assert.equal(result.value, 1, name);
  }
});

test('Condition: notify(n) wakes at most n of the current waiters', async () => {
  // Async functions of one thread are one owner for an RLock: use a Lock here.
  const cond = new Condition(new Lock());
  let woken = 0;
  const waiters = [0, 1, 2].map(async () => {
    await cond.acquire();
    const ok = await cond.wait(1500);
    if (ok) woken++;
    cond.release();
    return ok;
  });
  await new Promise((r) => setTimeout(r, 50));
  await cond.acquire();
  cond.notify(2);
  cond.release();
  const results = await Promise.all(waiters);
  assert.equal(woken, 2);
  assert.deepEqual(results.sort(), [false, true, true]);
});

test('Condition: wait releases every RLock level and restores them', async () => {
  const cond = new Condition();
  cond.acquireSync();
  cond.acquireSync();
  assert.equal(String(cond.lock), '<RLock(MainProcess, 2)>');
  assert.equal(await cond.wait(20), false);
  assert.equal(String(cond.lock), '<RLock(MainProcess, 2)>');
  cond.release();
  cond.release();
  assert.throws(() => cond.release(), AssertionError);
});

// ---- Event ---------------------------------------------------------------------------------
test('Event: set, clear, wait with timeout, repr', async () => {
  const e = new Event();
  assert.equal(String(e), '<Event unset>');
  assert.equal(e.isSet(), false);
  const t0 = performance.now();
  assert.equal(await e.wait(30), false);
  assert.equal(e.waitSync(10), false);
  assert.ok(elapsed(t0) < 2000);
  setTimeout(() => e.set(), 20);
  assert.equal(await e.wait(10_000), true);
  assert.equal(String(e), '<Event set>');
  assert.equal(e.waitSync(), true);
  e.clear();
  assert.equal(e.isSet(), false);
});

test('Event: ping-pong with a child process, async and sync', async () => {
  for (const name of ['pongAsync', 'pongSync']) {
    const ping = new Event();
    const pong = new Event();
    const p = child(name, [ping, pong, 50]);
    for (let i = 0; i < 50; i++) {
      ping.set();
      assert.equal(await pong.wait(20_000), true);
      pong.clear();
    }
    await p.join(20_000);
    assert.equal(p.exitcode, 0);
  }
});

// ---- Barrier -------------------------------------------------------------------------------
test('Barrier: parties in three processes get distinct indices; the action runs once per cycle', async () => {
  let runs = 0;
  const action = () => { runs++; };
  const barrier = new Barrier(3, action);
  assert.equal(barrier.parties, 3);
  const results = SharedArray('i', [-1, -1]);
  for (let cycle = 0; cycle < 2; cycle++) {
    const before = runs;
    // The action is not exportable here, so the parent must arrive last: wait for two waiters.
    const ps = [child('barrierParty', [barrier, results, 0]), child('barrierPartySync', [barrier, results, 1])];
    while (barrier.nWaiting < 2) await new Promise((r) => setTimeout(r, 5));
    const mine = await barrier.wait(20_000);
    await Promise.all(ps.map((p) => p.join()));
    assert.deepEqual(ps.map((p) => p.exitcode), [0, 0]);
    assert.deepEqual([mine, ...results.toArray()].sort(), [0, 1, 2]);
    assert.equal(mine, 2, 'the last arrival gets parties-1');
    assert.equal(runs, before + 1);
  }
  assert.equal(barrier.broken, false);
});

test('Barrier and Condition: bad arguments are typed errors at once', async () => {
  assert.throws(() => new Barrier(2, null, NaN), ValueError);
  assert.throws(() => new Barrier(2, null, 'x'), ValueError);
  const c = new Condition();
  await c.acquire();
  await assert.rejects(c.waitFor(5, 10), BilliardTypeError);
  assert.throws(() => c.waitForSync(null, 10), BilliardTypeError);
  c.release();
});

test('Barrier: timeout breaks it for every waiter; abort and reset; Barrier(1)', async () => {
  const barrier = new Barrier(3);
  const results = SharedArray('i', [-1]);
  const p = child('barrierBroken', [barrier, results, 0]);
  while (barrier.nWaiting < 1) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await assert.rejects(barrier.wait(100), BrokenBarrierError);
  assert.ok(elapsed(t0) < 3000);
  await p.join(10_000);
  assert.equal(results.get(0), 1, 'the other waiter got BrokenBarrierError too');
  assert.equal(barrier.broken, true);
  await assert.rejects(barrier.wait(), BrokenBarrierError);
  assert.throws(() => barrier.waitSync(), BrokenBarrierError);
  barrier.reset();
  assert.equal(barrier.broken, false);
  barrier.abort();
  await assert.rejects(barrier.wait(), BrokenBarrierError);
  barrier.reset();
  const two = new Barrier(2);
  const pair = await Promise.all([two.wait(), two.wait()]);
  assert.deepEqual(pair.sort(), [0, 1]);
  assert.equal(await new Barrier(1).wait(), 0);
  assert.equal(new Barrier(1).waitSync(), 0);
  assert.ok(BrokenBarrierError.prototype instanceof Error);
});

test('Barrier: reset() while waited on gives the waiters BrokenBarrierError; a throwing action breaks it', async () => {
  const barrier = new Barrier(2);
  const waiting = barrier.wait().catch((e) => e);
  while (barrier.nWaiting < 1) await new Promise((r) => setTimeout(r, 5));
  barrier.reset();
  assert.ok((await waiting) instanceof BrokenBarrierError);
  assert.equal(barrier.broken, false);

  const bad = new Barrier(1, () => { throw new Error('action failed'); });
  await assert.rejects(bad.wait(), /action failed/);
  assert.equal(bad.broken, true);
});

test('Barrier: a participant SIGKILLed inside wait() breaks it for every waiter (sync and async); reset() makes it usable', async () => {
  // lastArrives: the main process arrives after the death and would release the others;
  // otherwise every survivor is already asleep and must notice the death itself.
  for (const lastArrives of [true, false]) {
    const parties = lastArrives ? 3 : 4;
    const barrier = new Barrier(parties);
    const results = SharedArray('i', [-1, -1]);
    const victim = child('barrierParty', [barrier, SharedArray('i', [-1]), 0]);
    const sync = child('barrierBrokenSync', [barrier, results, 0]);
    while (barrier.nWaiting < 2) await new Promise((r) => setTimeout(r, 5));
    let mine;
    if (!lastArrives) {
      mine = barrier.wait(30_000).catch((e) => e);
      while (barrier.nWaiting < 3) await new Promise((r) => setTimeout(r, 5));
    }
    const t0 = performance.now();
    victim.kill();
    await victim.join();
    if (lastArrives) mine = barrier.wait(30_000).catch((e) => e);
    const err = await mine;
    assert.ok(err instanceof BrokenBarrierError, `${lastArrives}: ${err}`);
    assert.ok(elapsed(t0) < 1000, `${lastArrives}: the survivor waited ${elapsed(t0)} ms`);
    await sync.join(10_000);
    assert.equal(results.get(0), 1, `${lastArrives}: the waitSync survivor got BrokenBarrierError`);
    assert.equal(barrier.broken, true);
    await assert.rejects(barrier.wait(), BrokenBarrierError, 'broken until reset()');

    barrier.reset();
    assert.equal(barrier.broken, false);
    assert.equal(barrier.nWaiting, 0);
    const ps = [child('barrierParty', [barrier, results, 0])];
    if (parties === 4) ps.push(child('barrierPartySync', [barrier, results, 1]));
    const other = barrier.wait(20_000);
    while (barrier.nWaiting < parties - 1) await new Promise((r) => setTimeout(r, 5));
    const last = await barrier.wait(20_000);
    await Promise.all(ps.map((p) => p.join()));
    assert.deepEqual(ps.map((p) => p.exitcode), ps.map(() => 0));
    const indices = [last, await other, results.get(0), ...(parties === 4 ? [results.get(1)] : [])].sort();
    assert.deepEqual(indices, [...Array(parties).keys()], `${lastArrives}: a full cycle after reset()`);
  }
});

test('Barrier: a thread party that ends inside wait() breaks it too', async () => {
  const barrier = new Barrier(2);
  const t = new (getContext('thread').Process)({ target: tasks.barrierParty, args: [barrier, SharedArray('i', [-1]), 0], modules: [SYNC_TASKS] });
  t.start();
  while (barrier.nWaiting < 1) await new Promise((r) => setTimeout(r, 5));
  t.kill();
  await t.join();
  const t0 = performance.now();
  await assert.rejects(barrier.wait(30_000), BrokenBarrierError);
  assert.ok(elapsed(t0) < 1000, `took ${elapsed(t0)} ms`);
});

test('Barrier: a participant that died after the release does not keep the next cycle out', async () => {
  // White-box: a draining Barrier(1) whose one waiter (recorded in its slot) is a process that is gone.
  const gone = child('tryAcquire', [new Lock()]);
  await gone.join();
  const barrier = new Barrier(1);
  const a = barrier._block.arena.i32;
  const i = barrier._block.offset >> 2;
  a[i + 2] = 1; // one waiter inside wait()
  a[i + 6] = gone.pid; // its slot
  Atomics.store(a, i + 1, 1); // DRAINING
  const t0 = performance.now();
  assert.equal(await barrier.wait(20_000), 0);
  assert.ok(elapsed(t0) < 1000, `took ${elapsed(t0)} ms`);
  assert.equal(barrier.waitSync(), 0);
  assert.equal(barrier.broken, false);
});

// ---- contexts ------------------------------------------------------------------------------
test('contexts expose the primitives', () => {
  const ctx = getContext('spawn');
  assert.equal(ctx.Lock, Lock);
  assert.ok(new ctx.RLock() instanceof RLock);
  assert.ok(new ctx.Semaphore(1) instanceof Semaphore);
  assert.ok(new ctx.BoundedSemaphore(1) instanceof BoundedSemaphore);
  assert.ok(new ctx.Condition() instanceof Condition);
  assert.ok(new ctx.Event() instanceof Event);
  assert.ok(new ctx.Barrier(2) instanceof Barrier);
});
