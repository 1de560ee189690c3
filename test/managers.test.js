// Managers: SyncManager's types through proxies, CPython's semantics (copies,
// shared references, errors with their class, RemoteError), proxies in other
// processes, refcounts, user types, remote managers, lifecycle and cleanup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AuthenticationError, BaseManager, BrokenBarrierError, DictProxy, Empty, Full, IndexError, KeyError, ListProxy,
  Manager, Pipe, Process, ProcessError, RemoteError, SyncManager, ValueError,
} from 'billiard';
import { Client } from 'billiard/connection';
import { fixture, goneWithin, pidAlive, reap, startScript, runScript } from './fixtures/helpers.js';
import { MyManager, hammer, producer, serveRemote, useProxies, waiter } from './fixtures/mgr-tasks.js';

const modules = [new URL('./fixtures/mgr-tasks.js', import.meta.url).href];

let m;
before(async () => {
  m = await Manager();
});
after(async () => {
  const pid = m.process.pid;
  await m.shutdown();
  assert.equal(await goneWithin(pid, 5000), true);
});

/** Referents alive in the server (after the pending decrefs went out). */
async function liveObjects(manager) {
  await new Promise((r) => setImmediate(r));
  return (await manager.info()).objects;
}

describe('dict and list', () => {
  test('dict: Python\'s methods spelled out', async () => {
    const d = await m.dict({ a: 1 });
    assert.ok(d instanceof DictProxy);
    await d.set('b', 2);
    assert.equal(await d.get('a'), 1);
    assert.equal(await d.get('zz', 'dflt'), 'dflt');
    assert.equal(await d.has('b'), true);
    assert.equal(await d.len(), 2);
    assert.deepEqual(await d.keys(), ['a', 'b']);
    assert.deepEqual(await d.values(), [1, 2]);
    assert.deepEqual(await d.items(), [['a', 1], ['b', 2]]);
    await d.update({ c: 3 });
    assert.equal(await d.pop('c'), 3);
    assert.equal(await d.setdefault('e', 5), 5);
    assert.equal(await d.setdefault('e', 6), 5);
    const copy = await d.copy();
    assert.deepEqual(copy, new Map([['a', 1], ['b', 2], ['e', 5]]));
    await d.delete('e');
    assert.deepEqual(await d.getValue(), new Map([['a', 1], ['b', 2]]));
    await d.clear();
    assert.equal(await d.len(), 0);
    assert.match(String(d), /^<DictProxy object, typeid 'dict' at 0x[0-9a-f]+>$/);
    d.release();
  });

  test('dict keys of any primitive type; values keep their types', async () => {
    const d = await m.dict(new Map([[1, 'one']]));
    await d.set(2n, new Date(0));
    await d.set('set', new Set([1, 2]));
    assert.equal(await d.get(1), 'one');
    assert.deepEqual(await d.get(2n), new Date(0));
    assert.deepEqual(await d.get('set'), new Set([1, 2]));
    d.release();
  });

  test('list: Python\'s methods, negative indices', async () => {
    const l = await m.list([3, 1, 2]);
    assert.ok(l instanceof ListProxy);
    await l.append(5);
    await l.extend([4]);
    await l.insert(0, 0);
    assert.deepEqual(await l.toArray(), [0, 3, 1, 2, 5, 4]);
    assert.equal(await l.get(-1), 4);
    await l.set(-1, 40);
    assert.deepEqual(await l.slice(1, 3), [3, 1]);
    assert.equal(await l.pop(), 40);
    assert.equal(await l.pop(0), 0);
    assert.equal(await l.index(2), 2);
    assert.equal(await l.count(3), 1);
    await l.remove(3);
    await l.sort();
    assert.deepEqual(await l.toArray(), [1, 2, 5]);
    await l.sort({ reverse: true });
    await l.reverse();
    assert.deepEqual(await l.toArray(), [1, 2, 5]);
    assert.equal(await l.len(), 3);
    assert.equal(await l.has(5), true);
    l.release();
  });

  test('referent errors re-raise with their class; non-exposed methods reject with RemoteError', async () => {
    const d = await m.dict();
    const l = await m.list();
    await assert.rejects(d.get('missing'), (e) => e instanceof KeyError && e.message === "'missing'");
    await assert.rejects(d.pop('missing'), KeyError);
    await assert.rejects(l.get(3), (e) => e instanceof IndexError && e.message === 'list index out of range');
    await assert.rejects(l.pop(), { message: 'pop from empty list' });
    await assert.rejects(l.remove(1), (e) => e instanceof ValueError && e.message === 'list.remove(x): x not in list');
    await assert.rejects(d.callMethod('_getvalue'), (e) => e instanceof RemoteError && /not in exposed/.test(e.message));
    await assert.rejects(d.callMethod('nope'), (e) => e instanceof RemoteError && e.message.startsWith('\n' + '-'.repeat(75)));
    d.release(); l.release();
  });

  test('mutating a plain value inside a managed container does not propagate', async () => {
    const d = await m.dict();
    await d.set('inner', []);
    const inner = await d.get('inner');
    inner.push(1);
    assert.deepEqual(await d.get('inner'), []);
    inner.push(2);
    await d.set('inner', inner);
    assert.deepEqual(await d.get('inner'), [1, 2]);
    d.release();
  });

  test('a proxy inside a container is shared by reference', async () => {
    const d = await m.dict();
    const l = await m.list([1, 2]);
    await d.set('p', l);
    const again = await d.get('p');
    assert.ok(again instanceof ListProxy);
    assert.equal(again._id, l._id);
    await again.append(3);
    assert.deepEqual(await l.toArray(), [1, 2, 3]);
    const outer = await m.list([l]);
    await (await outer.get(0)).append(4);
    assert.deepEqual(await l.toArray(), [1, 2, 3, 4]);
    for (const p of [d, l, again, outer]) p.release();
  });

  test('calls are pipelined and answered in order', async () => {
    const d = await m.dict();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? d.get('k') : d.set('k', i))));
    for (let i = 1; i < 200; i += 2) assert.equal(replies[i], i - 1);
    d.release();
  });

  test('an unserializable argument rejects that call only', async () => {
    const d = await m.dict();
    await assert.rejects(d.set('f', () => 1), { name: 'SerializationError' });
    await d.set('ok', 1);
    assert.equal(await d.get('ok'), 1);
    d.release();
  });
});

describe('other types', () => {
  test('Namespace, Value, Array', async () => {
    const ns = await m.Namespace({ x: 1 });
    await ns.set('y', 2);
    assert.equal(await ns.get('x'), 1);
    assert.deepEqual(await ns.toObject(), { x: 1, y: 2 });
    await assert.rejects(ns.get('nope'), { name: 'AttributeError' });
    await ns.set('_local', 5);
    assert.equal(await ns.get('_local'), 5);
    assert.equal(await ns.has('_local'), true);
    assert.deepEqual(await ns.toObject(), { x: 1, y: 2 });
    const v = await m.Value('i', 7);
    await v.set(2 ** 31);
    assert.equal(await v.get(), -(2 ** 31));
    const a = await m.Array('d', [1, 2, 3]);
    assert.equal(await a.len(), 3);
    await a.set(1, 2.5);
    assert.deepEqual(await a.toArray(), [1, 2.5, 3]);
    await assert.rejects(a.get(3), IndexError);
    for (const p of [ns, v, a]) p.release();
  });

  test('Queue: FIFO, Empty/Full with and without waiting, many producers', async () => {
    const q = await m.Queue(2);
    await q.put(1);
    await q.putNowait(2);
    assert.equal(await q.full(), true);
    await assert.rejects(q.put(3, { timeout: 30 }), Full);
    await assert.rejects(q.putNowait(3), Full);
    assert.equal(await q.get(), 1);
    assert.equal(await q.getNowait(), 2);
    assert.equal(await q.empty(), true);
    await assert.rejects(q.get({ timeout: 30 }), Empty);
    await assert.rejects(q.get({ block: false }), Empty);
    // A blocked get is served by a later put.
    const pending = q.get({ timeout: 10_000 });
    await q.put('late');
    assert.equal(await pending, 'late');
    q.release();
  });

  test('JoinableQueue: taskDone/join', async () => {
    const q = await m.JoinableQueue();
    await q.put('a');
    let joined = false;
    const join = q.join().then(() => { joined = true; });
    assert.equal(await q.get(), 'a');
    assert.equal(joined, false);
    await q.taskDone();
    await join;
    await assert.rejects(q.taskDone(), { message: 'task_done() called too many times' });
    q.release();
  });

  test('Lock, RLock, Semaphore, BoundedSemaphore', async () => {
    const lock = await m.Lock();
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire({ block: false }), false);
    assert.equal(await lock.acquire({ timeout: 20 }), false);
    await lock.release();
    await assert.rejects(lock.release(), { message: 'semaphore or lock released too many times' });
    assert.equal(await lock.withLock(() => 5), 5);
    const rlock = await m.RLock();
    assert.equal(await rlock.acquire(), true);
    assert.equal(await rlock.acquire(), true);
    await rlock.release();
    await rlock.release();
    await assert.rejects(rlock.release(), { name: 'AssertionError' });
    const sem = await m.Semaphore(2);
    await sem.acquire();
    assert.equal(await sem.getValue(), 1);
    await sem.release(2);
    assert.equal(await sem.getValue(), 3);
    const bsem = await m.BoundedSemaphore(1);
    await assert.rejects(bsem.release(), { message: 'semaphore or lock released too many times' });
    for (const p of [lock, rlock, sem, bsem]) p.releaseProxy();
  });

  test('Condition: wait/notify, waitFor, errors without the lock', async () => {
    const cond = await m.Condition();
    await assert.rejects(cond.wait(10), { message: 'cannot wait on un-acquired lock' });
    await assert.rejects(cond.notify(), { message: 'cannot notify on un-acquired lock' });
    await cond.acquire();
    assert.equal(await cond.wait(20), false);
    await cond.release();
    const lock = await m.Lock();
    const c2 = await m.Condition(lock);
    await c2.acquire();
    assert.equal(await lock.acquire({ block: false }), false, 'the Condition uses the given Lock');
    let flag = false;
    const checked = c2.waitFor(() => flag, 10_000);
    // Our acquire() gets the lock once waitFor's wait() has released it.
    await c2.acquire();
    flag = true;
    await c2.notify();
    await c2.release();
    assert.equal(await checked, true);
    await c2.release();
    for (const p of [cond, lock, c2]) p.releaseProxy();
  });

  test('Event and Barrier', async () => {
    const ev = await m.Event();
    assert.equal(await ev.isSet(), false);
    assert.equal(await ev.wait(20), false);
    const waiting = ev.wait(10_000);
    await ev.set();
    assert.equal(await waiting, true);
    await ev.clear();
    const b = await m.Barrier(2);
    assert.equal(await b.parties, 2);
    const [i, j] = await Promise.all([b.wait(), b.wait()]);
    assert.deepEqual([i, j].sort(), [0, 1]);
    await assert.rejects(b.wait(30), BrokenBarrierError);
    assert.equal(await b.broken, true);
    await b.reset();
    assert.equal(await b.broken, false);
    assert.equal(await b.nWaiting, 0);
    ev.release(); b.release();
  });
});

describe('proxies in other processes', () => {
  test('proxies passed to a child as Process arguments reach the same referents', async () => {
    const d = await m.dict();
    const l = await m.list(['parent']);
    const [a, b] = Pipe();
    const p = new Process({ target: useProxies, args: [b, d, l], modules });
    try {
      p.start();
      b.close();
      assert.equal(await a.recv(), p.pid);
      await p.join(20_000);
      assert.equal(p.exitcode, 0);
      assert.deepEqual(await l.toArray(), ['parent', 'from-child']);
      assert.equal(await d.get('child'), p.pid);
    } finally {
      a.close();
      await reap(p);
    }
    // The child's references went with it; ours keep the objects alive.
    const before = await liveObjects(m);
    d.release(); l.release();
    assert.equal(await liveObjects(m), before - 2);
  });

  test('4 processes hammering one dict under a managed Lock: no update lost', async () => {
    const d = await m.dict({ count: 0 });
    const lock = await m.Lock();
    const n = 100;
    const procs = Array.from({ length: 4 }, (_, i) => new Process({ target: hammer, args: [d, lock, n, `p${i}`], modules }));
    try {
      for (const p of procs) p.start();
      for (const p of procs) await p.join(30_000);
      assert.deepEqual(procs.map((p) => p.exitcode), [0, 0, 0, 0]);
      assert.equal(await d.get('count'), 4 * n);
      assert.equal(await d.len(), 1 + 4 * 10);
    } finally {
      await reap(...procs);
    }
    d.release(); lock.releaseProxy();
  });

  test('a Queue fed by a child; an Event set by the parent wakes a child', async () => {
    const q = await m.Queue();
    const ev = await m.Event();
    const d = await m.dict();
    const p1 = new Process({ target: producer, args: [q, [1, 2, 3]], modules });
    const p2 = new Process({ target: waiter, args: [ev, d, 'woke'], modules });
    try {
      p1.start();
      p2.start();
      assert.deepEqual([await q.get({ timeout: 20_000 }), await q.get({ timeout: 5000 }), await q.get({ timeout: 5000 })], [1, 2, 3]);
      await ev.set();
      await p2.join(20_000);
      assert.equal(await d.get('woke'), true);
      await p1.join(20_000);
      assert.deepEqual([p1.exitcode, p2.exitcode], [0, 0]);
    } finally {
      await reap(p1, p2);
    }
    q.release(); ev.release(); d.release();
  });

  test('a lock held by a process that dies is released', async () => {
    const lock = await m.Lock();
    const d = await m.dict({ count: 0 });
    // The child takes the lock and is killed while hammering.
    const p = new Process({ target: hammer, args: [d, lock, 1_000_000, 'x'], modules });
    try {
      p.start();
      const deadline = Date.now() + 20_000;
      while ((await d.get('count')) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      p.kill();
      await p.join(10_000);
      assert.equal(await lock.acquire({ timeout: 5000 }), true);
      await lock.release();
    } finally {
      await reap(p);
    }
    lock.releaseProxy(); d.release();
  });
});

describe('reference counting', () => {
  test('release() destroys the referent with its last reference', async () => {
    const before = await liveObjects(m);
    const l = await m.list();
    const d = await m.dict();
    await d.set('l', l);
    assert.equal(await liveObjects(m), before + 2);
    l.release();
    assert.equal(await liveObjects(m), before + 2, 'the dict still holds the list');
    d.release();
    // The list goes when the server's copy of the dict is collected; the dict at once.
    assert.ok((await liveObjects(m)) <= before + 1);
    await assert.rejects(l.append(1), { message: /was released/ });
  });
});

describe('lifecycle', () => {
  test('start twice, use before start and after shutdown: ProcessError / ValueError', async () => {
    const mm = new SyncManager();
    assert.throws(() => mm.dict(), { message: 'address type of None unrecognized' });
    await mm.start();
    assert.throws(() => mm.start(), (e) => e instanceof ProcessError && e.message === 'Already started server');
    const d = await mm.dict();
    const pid = mm.process.pid;
    await mm.shutdown();
    assert.equal(mm.process.exitcode, 0);
    assert.equal(pidAlive(pid), false, 'shutdown leaves no process behind');
    assert.throws(() => mm.start(), { message: 'Manager has shut down' });
    assert.throws(() => mm.dict(), (e) => e instanceof ProcessError && e.message === 'Manager has shut down');
    await assert.rejects(d.get('x'));
  });

  test('the manager process dies with its owner (killed, or exiting without shutdown)', async () => {
    for (const mode of ['kill', 'exit']) {
      const owner = startScript(fixture('mgr-owner.js'), [mode]);
      try {
        const [, pid] = await owner.waitFor(/manager (\d+)/);
        if (mode === 'kill') owner.kill('SIGKILL');
        await owner.exited;
        assert.equal(await goneWithin(Number(pid), 10_000), true, `manager ${pid} outlived its owner (${mode})`);
      } finally {
        owner.kill('SIGKILL');
      }
    }
  });

  test('await using / Symbol.asyncDispose shuts down', async () => {
    const mm = await Manager();
    const pid = mm.process.pid;
    await mm[Symbol.asyncDispose]();
    assert.equal(await goneWithin(pid, 5000), true);
  });
});

describe('user types and remote managers', () => {
  test('register(): AutoProxy of public methods, exposed, methodToTypeid, errors with their class', async () => {
    const mm = new MyManager({ modules });
    await mm.start();
    try {
      const c = await mm.Counter(5);
      assert.equal(await c.incr(), 6);
      assert.equal(await c.incr(4), 10);
      assert.equal(await c.slow(5), 5);
      assert.equal(typeof c._hidden, 'undefined');
      await assert.rejects(c.callMethod('_hidden'), RemoteError);
      await assert.rejects(c.fail(), KeyError);
      const typed = await mm.create('Counter', 1);
      assert.equal(await typed.get(), 1);
      const limited = await mm.LimitedCounter(3);
      assert.equal(await limited.get(), 3);
      assert.equal(limited.incr, undefined);
      await assert.rejects(limited.callMethod('incr'), (e) => e instanceof RemoteError && /not in exposed=\["get"\]/.test(e.message));
      const spawner = await mm.Spawner(2);
      const child = await spawner.child();
      assert.equal(child._typeid, 'Counter');
      assert.equal(await child.incr(), 21);
    } finally {
      await mm.shutdown();
    }
  });

  test('getServer().serveForever() in another process; connect() by address and authkey; wrong key rejected', async () => {
    const authkey = randomBytes(16);
    const [a, b] = Pipe();
    const p = new Process({ target: serveRemote, args: [b, ['127.0.0.1', 0], authkey], modules });
    try {
      p.start();
      b.close();
      const address = await a.recv();
      const bad = new MyManager({ address, authkey: Buffer.from('wrong') });
      await assert.rejects(bad.connect(), (e) => e instanceof AuthenticationError && e.message === 'digest sent was rejected');
      const remote = new MyManager({ address, authkey });
      await remote.connect();
      const c = await remote.Counter(1);
      assert.equal(await c.incr(), 2);
      const again = new MyManager({ address, authkey });
      await again.connect();
      c.release();
      await remote.shutdown();
      // connect()ed managers do not own the server: ask it to stop through the protocol.
      p.kill();
      await p.join(10_000);
    } finally {
      a.close();
      await reap(p);
    }
  });

  test('malformed requests from an authenticated peer are answered with errors, never acted on', async () => {
    const authkey = randomBytes(16);
    const own = new SyncManager({ address: '127.0.0.1:0', authkey });
    await own.start();
    try {
      const d = await own.dict({ k: 1 });
      const conn = await Client(own.address, { authkey });
      // Raw bytes whose first byte is 6 (Shutdown) must not read as a request; nor null, a number, bad fields.
      const bad = [Buffer.from([6, 1, 2]), null, 5, 'x', [], [6], [0, 1, 'id', 'get', []], [0, 2, 1, 'get', 5], [1, 3, 42, []], [99, 4]];
      for (const msg of bad) {
        if (Buffer.isBuffer(msg)) conn.sendBytes(msg); else conn.send(msg);
        const reply = await conn.recv();
        assert.ok(Array.isArray(reply) && reply[1] === 2 && /malformed request|unknown request/.test(reply[2]), `${JSON.stringify(msg)} → ${JSON.stringify(reply)}`);
      }
      conn.close();
      assert.equal(await d.get('k'), 1, 'the manager still serves');
      assert.equal(own.process.isAlive(), true);
    } finally {
      await own.shutdown();
    }
  });

  test('BaseManager.register() validates; registries are per class', () => {
    class A extends BaseManager {}
    class B extends A {}
    A.register('X', Object);
    B.register('Y', Object);
    assert.ok(A._registry.has('X') && !A._registry.has('Y'));
    assert.ok(B._registry.has('X') && B._registry.has('Y'));
    assert.throws(() => A.register('', Object), { name: 'TypeError' });
    assert.throws(() => new SyncManager().start(5), { message: 'initializer must be a callable' });
  });
});
