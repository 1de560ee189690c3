// Queue, JoinableQueue, SimpleQueue: the API in one process, then across real
// processes of every start method (many producers and consumers, FIFO per
// producer, async iteration, closing, JoinableQueue, queues inside queues).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  AssertionError, Empty, Full, JoinableQueue, OSError, Process, Queue, SerializationError, SimpleQueue, ValueError,
  getContext,
} from 'billiard';
import * as T from './fixtures/queue-tasks.js';
import { assertNoLeaks } from './fixtures/sync-helpers.js';

const started = new Set();
function start(target, args, method) {
  const Proc = method ? getContext(method).Process : Process;
  const p = new Proc({ target, args, modules: [T.QUEUE_TASKS] });
  p.start();
  started.add(p);
  return p;
}

async function joinOk(...ps) {
  for (const p of ps) {
    await p.join();
    assert.equal(p.exitcode, 0, `child exited with ${p.exitcode}`);
  }
}

/** Segments of this tree's queues (chunks, large items) still in /dev/shm. */
export function queueSegments() {
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

const elapsed = (t0) => performance.now() - t0;

// ---- one process ------------------------------------------------------------------------
test('put/get, nowait and sync variants, qsize/empty/full, values survive', async () => {
  const q = new Queue();
  assert.equal(q.empty(), true);
  assert.equal(q.full(), false);
  await q.put(1);
  q.putSync({ a: [1, 2], m: new Map([[1, 'x']]), big: 2n ** 70n, d: new Date(7) });
  q.putNowait('three');
  assert.equal(q.qsize(), 3);
  assert.equal(q.empty(), false);
  assert.equal(await q.get(), 1);
  const v = q.getSync();
  assert.deepEqual(v.a, [1, 2]);
  assert.equal(v.m.get(1), 'x');
  assert.equal(v.big, 2n ** 70n);
  assert.equal(v.d.getTime(), 7);
  assert.equal(q.getNowait(), 'three');
  assert.equal(q.qsize(), 0);
  assert.throws(() => q.getNowait(), Empty);
  await assert.rejects(q.get({ block: false }), Empty);
  assert.throws(() => q.getSync({ block: false, timeout: 10_000 }), Empty, 'block: false ignores timeout');
  // put then an immediate getNowait in the same process finds the item (no feeder delay)
  q.putSync(5);
  assert.equal(q.getNowait(), 5);
  // mutating after put does not change what is received
  const obj = { n: 1 };
  await q.put(obj);
  obj.n = 2;
  assert.deepEqual(await q.get(), { n: 1 });
});

test('timeouts are honoured: Empty and Full after about `timeout` ms, sync and async', async () => {
  const q = new Queue(1);
  for (const timeout of [0, 30, 120]) {
    let t0 = performance.now();
    await assert.rejects(q.get({ timeout }), Empty);
    assert.ok(elapsed(t0) < timeout + 300, `get: ${elapsed(t0)} ms for ${timeout}`);
    t0 = performance.now();
    assert.throws(() => q.getSync({ timeout }), Empty);
    assert.ok(elapsed(t0) < timeout + 300, `getSync: ${elapsed(t0)} ms for ${timeout}`);
  }
  await q.put('x');
  assert.equal(q.full(), true);
  assert.throws(() => q.putNowait('y'), Full);
  for (const timeout of [0, 30, 120]) {
    let t0 = performance.now();
    await assert.rejects(q.put('y', { timeout }), Full);
    assert.ok(elapsed(t0) < timeout + 300, `put: ${elapsed(t0)} ms for ${timeout}`);
    t0 = performance.now();
    assert.throws(() => q.putSync('y', { timeout }), Full);
    assert.ok(elapsed(t0) < timeout + 300, `putSync: ${elapsed(t0)} ms for ${timeout}`);
  }
  assert.throws(() => q.putSync('y', { timeout: -5 }), Full, 'negative timeout counts as 0');
  assert.equal(q.qsize(), 1);
  assert.equal(await q.get(), 'x');
});

test('a blocked get resolves when an item arrives; a blocked put when room is made', async () => {
  const q = new Queue(1);
  const pending = q.get();
  await q.put('late');
  assert.equal(await pending, 'late');
  await q.put(1);
  const blocked = q.put(2);
  assert.equal(await q.get(), 1);
  await blocked;
  assert.equal(await q.get(), 2);
  // many waiting gets in one process each receive one item
  const gets = Array.from({ length: 5 }, () => q.get({ timeout: 10_000 }));
  for (let i = 0; i < 5; i++) await q.put(i);
  assert.deepEqual((await Promise.all(gets)).sort(), [0, 1, 2, 3, 4]);
});

test('an unserializable item rejects its own put, takes no slot and does not break the queue', async () => {
  const q = new Queue(1);
  await assert.rejects(q.put({ ok: 1, cb: () => 1 }), (e) => e instanceof SerializationError && /item\.cb/.test(e.message));
  assert.throws(() => q.putSync(Symbol('s')), SerializationError);
  assert.throws(() => q.putNowait([1, Promise.resolve()]), SerializationError);
  assert.equal(q.qsize(), 0);
  assert.equal(q.full(), false);
  q.putNowait('fine'); // the slot is free
  assert.equal(await q.get(), 'fine');
});

test('close: put/get throw ValueError /is closed/; joinThread before close is an AssertionError; idempotent', async () => {
  const q = new Queue();
  assert.throws(() => q.joinThread(), AssertionError);
  q.cancelJoinThread();
  await q.put(1);
  q.close();
  q.close();
  await q.joinThread();
  assert.throws(() => q.put(2), (e) => e instanceof ValueError && /is closed/.test(e.message));
  assert.throws(() => q.putSync(2), (e) => e instanceof ValueError && /is closed/.test(e.message));
  assert.throws(() => q.get(), (e) => e instanceof ValueError && /is closed/.test(e.message));
  assert.throws(() => q.getNowait(), (e) => e instanceof ValueError && /is closed/.test(e.message));
  assert.equal(q.qsize(), 1, 'items stay for other handles');
});

test('JoinableQueue: taskDone/join, too many taskDone is a ValueError', async () => {
  const q = new JoinableQueue();
  await q.join(); // nothing unfinished
  await q.put('a');
  await q.put('b');
  let joined = false;
  const j = q.join().then(() => { joined = true; });
  await q.get();
  q.taskDone();
  await q.get();
  await new Promise((r) => setImmediate(r));
  assert.equal(joined, false);
  q.taskDone();
  await j;
  assert.throws(() => q.taskDone(), (e) => e instanceof ValueError && e.message === 'task_done() called too many times');
});

test('SimpleQueue: put/get/empty/close; OSError("handle is closed") afterwards', async () => {
  const q = new SimpleQueue();
  assert.equal(q.empty(), true);
  await q.put([1, 2]);
  assert.equal(q.empty(), false);
  assert.deepEqual(await q.get(), [1, 2]);
  const later = q.get();
  q.putSync('x');
  assert.equal(await later, 'x');
  q.close();
  q.close();
  for (const f of [() => q.empty(), () => q.put(1), () => q.get()]) {
    assert.throws(f, (e) => e instanceof OSError && e.message === 'handle is closed');
  }
});

test('context members: ctx.Queue, ctx.JoinableQueue, ctx.SimpleQueue', () => {
  for (const method of ['spawn', 'thread', 'forkserver']) {
    const ctx = getContext(method);
    assert.equal(ctx.Queue, Queue);
    assert.equal(ctx.JoinableQueue, JoinableQueue);
    assert.equal(ctx.SimpleQueue, SimpleQueue);
  }
  assert.ok(new (getContext().Queue)(3) instanceof Queue);
});

test('an unbounded queue never blocks put: 200k items and a 10 MiB item overflow the ring, FIFO kept', async () => {
  const q = new Queue();
  const n = 200_000;
  for (let i = 0; i < n; i++) q.putSync({ i, s: 'some text' });
  await q.put(Buffer.alloc(10 << 20, 3));
  q.putSync('end');
  assert.equal(q.qsize(), n + 2);
  for (let i = 0; i < n; i++) {
    const v = q.getSync();
    if (v.i !== i) assert.fail(`item ${i}: got ${v.i}`);
  }
  const big = await q.get();
  assert.equal(big.length, 10 << 20);
  assert.equal(big[12345], 3);
  assert.equal(q.getSync(), 'end');
  assert.equal(q.qsize(), 0);
  assert.deepEqual(queueSegments(), [], 'overflow chunks and the large item are removed once consumed');
});

// ---- across processes ---------------------------------------------------------------------
for (const method of ['spawn', 'forkserver', 'thread']) {
  test(`2 producers × 2 consumers (${method}): exact multiset, FIFO per producer`, async () => {
    const n = method === 'spawn' ? 20_000 : 5000;
    const q = new Queue();
    const out = new Queue();
    const consumers = [start(T.consume, [q, out, 'a'], method), start(T.consumeSync, [q, out, 'b'], method)];
    const producers = [start(T.produce, [q, 0, n], method), start(T.produceSync, [q, 1, n], method)];
    await joinOk(...producers);
    await q.put(null);
    await q.put(null);
    const reports = [await out.get(), await out.get()];
    await joinOk(...consumers);
    const seen = [new Set(), new Set()];
    for (const { who, got } of reports) {
      const last = [-1, -1];
      for (const { p, i } of got) {
        assert.ok(i > last[p], `consumer ${who}: producer ${p} item ${i} after ${last[p]}`);
        last[p] = i;
        assert.ok(!seen[p].has(i), `duplicate ${p}/${i}`);
        seen[p].add(i);
      }
    }
    assert.equal(seen[0].size, n);
    assert.equal(seen[1].size, n);
    assert.equal(q.qsize(), 0);
  });
}

test('joining a producer before draining does not deadlock (10 MiB + 50k items buffered)', async () => {
  const q = new Queue();
  const p = start(T.putBig, [q, 10 << 20, 9, 'after']);
  const s = start(T.produceSync, [q, 1, 50_000]);
  await joinOk(p, s);
  assert.equal(q.qsize(), 50_002);
  let big = null;
  let count = 0;
  while (!q.empty()) {
    const v = q.getSync();
    if (Buffer.isBuffer(v)) big = v;
    else count++;
  }
  assert.equal(big.length, 10 << 20);
  assert.equal(count, 50_001);
});

test('async iteration drains and ends once the creating handle is closed (in every process)', async () => {
  const q = new Queue();
  const out = new Queue();
  const producers = [start(T.produceAndClose, [q, 0, 500]), start(T.produceSync, [q, 1, 700])];
  const iterator = start(T.iterate, [q, out]);
  // Producers closing their own handles do not end anyone's iteration.
  await joinOk(...producers);
  await q.put({ p: 2, i: 0 });
  q.close();
  assert.throws(() => q.put(1), /is closed/);
  const got = [];
  for await (const item of q) got.push(item); // the closed handle drains what is left
  const { count } = await out.get({ timeout: 20_000 }); // the child's iteration ended too
  await joinOk(iterator);
  assert.equal(got.length + count, 1201);
  // Closing a handle ends its own iteration once drained, also while it waits.
  const r = new Queue();
  await r.put('x');
  const it = r[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { value: 'x', done: false });
  const next = it.next();
  r.close();
  assert.deepEqual(await next, { value: undefined, done: true });
});

test('JoinableQueue across processes: join() resolves when the worker has marked every item done', async () => {
  const q = new JoinableQueue();
  const out = new Queue();
  for (let i = 0; i < 100; i++) await q.put(i);
  const w = start(T.doTasks, [q, 100, out]);
  await q.join();
  assert.equal(out.qsize(), 100);
  await joinOk(w);
  let sum = 0;
  while (!out.empty()) sum += out.getSync();
  assert.equal(sum, 2 * 4950);
  assert.throws(() => q.taskDone(), /task_done\(\) called too many times/);
});

test('a queue inside a queue arrives working; JoinableQueue and SimpleQueue keep their class', async () => {
  const q = new Queue();
  const inner = new Queue();
  const c = start(T.answerInner, [q]);
  await q.put(inner);
  assert.match(await inner.get({ timeout: 20_000 }), /^hello from \d+$/);
  await q.put({ nested: [new JoinableQueue(), new SimpleQueue()] });
  const back = await inner.get({ timeout: 20_000 });
  assert.ok(back.nested[0] instanceof JoinableQueue);
  assert.ok(back.nested[1] instanceof SimpleQueue);
  await joinOk(c);
});
