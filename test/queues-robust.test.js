// Queues when things go wrong or get big: items from 0 B to 64 MiB across
// processes, consumers SIGKILLed while blocked in get, a producer SIGKILLed
// while writing a 64 MiB item, a process dying while it holds the queue's
// lock, a queue as a Pool initializer argument, and nothing left in /dev/shm.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Empty, Pool, Process, Queue } from 'billiard';
import * as T from './fixtures/queue-tasks.js';
import { assertNoLeaks } from './fixtures/sync-helpers.js';

const started = new Set();
function start(target, args) {
  const p = new Process({ target, args, modules: [T.QUEUE_TASKS] });
  p.start();
  started.add(p);
  return p;
}

function queueSegments() {
  return readdirSync('/dev/shm').filter((n) => n.startsWith(`bl${process.pid}_`) && n.includes('.q'));
}

after(async () => {
  for (const p of started) {
    if (p.exitcode === null) p.kill();
    await p.join();
  }
  assert.deepEqual(queueSegments(), [], 'queue segments left in /dev/shm');
  await assertNoLeaks();
});

/** Resolve when `cond()` holds (checked every few ms; an upper bound of `ms`). */
async function until(cond, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(2);
  }
}

// Words of the control block (src/queues/layout.ts), read for white-box waits.
const GET_WAITERS = 17;
const PENDING = 4;

const sha = (b) => createHash('sha1').update(b).digest('hex');

test('items of every size arrive intact across processes (0 B … 64 MiB, both directions)', async () => {
  const sizes = [0, 1, 100, 4095, 65_519, 65_520, 65_536, 65_537, 300_000, 1 << 20, 16 << 20, 64 << 20];
  const q = new Queue();
  const out = new Queue();
  const child = start(T.echo, [q, out, sizes.length + 2, false]);
  const sent = [];
  for (const size of sizes) {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4096) b[i] = (i / 4096 + size) & 0xff;
    if (size) b[size - 1] = 0xab;
    sent.push(b);
    await q.put(b);
  }
  const text = 'ü'.repeat(200_000); // a large string (not a binary view) travels inside the body
  await q.put(text);
  await q.put({ views: [new Float64Array(100_000).fill(1.5), new Uint16Array(3)], s: 'x' });
  for (const b of sent) {
    const back = await out.get({ timeout: 30_000 });
    assert.ok(Buffer.isBuffer(back), `size ${b.length}: got ${typeof back}`);
    assert.equal(back.length, b.length);
    assert.equal(sha(back), sha(b), `size ${b.length} corrupted`);
  }
  assert.equal(await out.get(), text);
  const mixed = await out.get();
  assert.ok(mixed.views[0] instanceof Float64Array);
  assert.equal(mixed.views[0].length, 100_000);
  assert.equal(mixed.views[0][99_999], 1.5);
  assert.ok(mixed.views[1] instanceof Uint16Array);
  await child.join();
  assert.equal(child.exitcode, 0);
});

for (const mode of ['async', 'sync']) {
  test(`a consumer SIGKILLed while blocked in get (${mode}) loses no item`, async () => {
    const q = new Queue();
    const out = new Queue();
    const victim = start(T.getOne, [q, out, mode]);
    await until(() => q._core.ld(GET_WAITERS) > 0, 'the child to block in get');
    victim.kill();
    await victim.join();
    assert.equal(victim.exitcode, -9);
    for (let i = 0; i < 100; i++) await q.put(i);
    assert.equal(q.qsize(), 100);
    const got = [];
    for (let i = 0; i < 100; i++) got.push(await q.get({ timeout: 5000 }));
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(out.qsize(), 0);
  });
}

test('a producer SIGKILLed while writing a 64 MiB item exposes no partial item; the queue keeps working', async () => {
  const q = new Queue(2);
  await q.put('before');
  const victim = start(T.putBig, [q, 64 << 20, 1, 'after']);
  await until(() => q._core.ld(PENDING) > 0, 'the producer to start writing its item', 30_000);
  victim.kill();
  await victim.join();
  assert.equal(victim.exitcode, -9);
  assert.equal(await q.get(), 'before');
  // The abandoned item is dropped (and its segment removed) when a consumer reaches it.
  await assert.rejects(q.get({ timeout: 300 }), Empty);
  assert.equal(q.qsize(), 0);
  assert.equal(q.full(), false, 'the slot of the abandoned item is free again');
  assert.deepEqual(queueSegments(), []);
  await q.put(Buffer.alloc(1 << 20, 5));
  await q.put('still works');
  assert.equal((await q.get()).length, 1 << 20);
  assert.equal(await q.get(), 'still works');
});

test('a consumer SIGKILLed while copying out a large item (claimed, not received) loses nothing', async () => {
  const q = new Queue();
  const item = Buffer.alloc(1 << 20, 7);
  await q.put(item);
  await q.put('next');
  const victim = start(T.claimThenDie, [q]);
  await victim.join();
  assert.equal(victim.exitcode, -9);
  const back = await q.get({ timeout: 5000 });
  assert.equal(sha(back), sha(item));
  assert.equal(await q.get({ timeout: 5000 }), 'next');
  assert.equal(q.qsize(), 0);
});

test('a process that dies holding the queue lock: the lock is recovered and the counts repaired', async () => {
  const q = new Queue();
  const victim = start(T.putThenDieLocked, [q, 3]);
  await victim.join();
  assert.equal(victim.exitcode, -9);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await q.get({ timeout: 5000 }));
  assert.deepEqual(got, [0, 1, 2]);
  assert.equal(q.qsize(), 0);
  q.putSync('after');
  assert.equal(q.getSync(), 'after');
});

test('a Queue as a Pool initializer argument', async () => {
  const q = new Queue();
  const pool = new Pool({ processes: 1, initializer: T.initWithQueue, initargs: [q], modules: [T.QUEUE_TASKS] });
  try {
    assert.deepEqual(await pool.map(T.putFromPool, [1, 2, 3]), [1, 2, 3]);
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await q.get({ timeout: 10_000 }));
    assert.deepEqual(got.map((g) => g.x).sort(), [1, 2, 3]);
    assert.ok(got.every((g) => g.from !== process.pid && g.from === got[0].from));
    // and as a task argument
    const r = new Queue();
    await pool.apply(T.produce, [r, 7, 3]);
    assert.deepEqual([await r.get(), await r.get(), await r.get()].map((x) => x.i), [0, 1, 2]);
  } finally {
    await pool.terminate();
  }
});
