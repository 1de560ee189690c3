// Unserializable arguments, results and queue items, and absurd options (negative sizes,
// NaN timeouts, non-functions) all give typed errors (BilliardError subclasses), thrown
// synchronously or as rejections, within a bound, and leave the objects usable.
import * as b from 'billiard';
import { SHORT, TASKS, scenario, leftoverChildren } from './lib.js';
import { echo, returnFunction, work } from './tasks.js';

const modules = [TASKS];
const BOUND = 5000;

// A value whose serialization runs user code that throws (a getter).
const throwing = { get x() { throw new Error('getter failed'); } };

async function outcome(fn) {
  let t;
  try {
    const v = fn();
    const r = v && typeof v.then === 'function'
      ? await Promise.race([v, new Promise((_, rej) => { t = setTimeout(() => rej(Object.assign(new Error('hang'), { hang: true })), BOUND); })])
      : v;
    return { kind: 'ok', value: r };
  } catch (e) {
    if (e?.hang) return { kind: 'hang' };
    return { kind: e instanceof b.BilliardError ? 'typed' : 'untyped', error: `${e?.constructor?.name}: ${String(e?.message).slice(0, 120)}` };
  } finally { clearTimeout(t); }
}

await scenario('bad-input', SHORT ? 60_000 : 120_000, async () => {
  const pool = new b.Pool({ processes: 2, modules });
  const q = new b.Queue();
  const lock = new b.Lock();
  const ev = new b.Event();
  const [c1, c2] = b.Pipe();
  const mgr = await b.Manager();
  const d = await mgr.dict();
  const sem = new b.Semaphore(1);
  const cond = new b.Condition();
  const barrier = new b.Barrier(2);
  // Each case must fail with a typed error.
  const mustFail = {
    // Pool: arguments, results, items, options.
    'pool.apply unserializable arg': () => pool.apply(echo, [() => 1]),
    'pool.apply symbol arg': () => pool.apply(echo, [Symbol('s')]),
    'pool.apply arg with a throwing getter': () => pool.apply(echo, [throwing]),
    'pool.apply args not an array': () => pool.apply(echo, 5),
    'pool.apply unserializable result': () => pool.apply(returnFunction),
    'pool.map unserializable item': () => pool.map(echo, [1, () => 2]),
    'pool.starmap item not an argument list': () => pool.starmap(echo, [1, 2]),
    'pool.apply non-function': () => pool.apply(42),
    'pool.apply string task': () => pool.apply('work'),
    'pool.map non-iterable': () => pool.map(work, 5),
    'pool.map chunksize NaN': () => pool.map(work, [1], NaN),
    'pool.imap chunksize -1': () => pool.imap(work, [1], -1),
    'pool.apply timeout NaN': () => pool.apply(work, [1], { timeout: NaN }),
    'pool.apply timeout -1': () => pool.apply(work, [1], { timeout: -1 }),
    'pool.applyAsync callback not a function': () => pool.applyAsync(work, [1], { callback: 5 }).get(),
    'asyncResult.get timeout NaN (ready result)': async () => { const r = pool.applyAsync(work, [1]); await r.wait(); return r.get({ timeout: NaN }); },
    'asyncResult.get(number) instead of options': () => pool.applyAsync(work, [1]).get(5),
    'imap next(NaN)': () => pool.imap(work, [1]).next(NaN),
    'new Pool(-1)': () => new b.Pool(-1),
    'new Pool(0)': () => new b.Pool(0),
    'new Pool(NaN)': () => new b.Pool(NaN),
    'new Pool({processes:"x"})': () => new b.Pool({ processes: 'x' }),
    'new Pool({maxTasksPerChild:-1})': () => new b.Pool({ processes: 1, maxTasksPerChild: -1 }),
    'new Pool({initializer:42})': () => new b.Pool({ processes: 1, initializer: 42 }),
    'new Pool({timeout:NaN})': () => new b.Pool({ processes: 1, timeout: NaN }),
    // Queues.
    'queue.put function': () => q.put(() => 1),
    'queue.putNowait symbol': () => q.putNowait(Symbol('x')),
    'queue.put item with a throwing getter': () => q.put(throwing),
    'queue.get timeout NaN': () => q.get({ timeout: NaN }),
    'queue.get timeout -1': () => q.get({ timeout: -1 }),
    'new Queue(NaN)': () => new b.Queue(NaN),
    // Synchronization primitives: a bad timeout is an error even when nothing has to wait.
    'lock.acquire timeout NaN (free lock)': () => lock.acquire({ timeout: NaN }).finally(() => { try { lock.release(); } catch {} }),
    'lock.acquire timeout NaN (held lock)': async () => { await lock.acquire(); try { return await lock.acquire({ timeout: NaN }); } finally { lock.release(); } },
    'semaphore.acquire timeout NaN (free unit)': () => sem.acquire({ timeout: NaN }).finally(() => { try { sem.release(); } catch {} }),
    'semaphore.acquireSync timeout NaN (free unit)': () => { try { return sem.acquireSync({ timeout: NaN }); } finally { if (sem.getValue() === 0) sem.release(); } },
    'condition.waitFor non-function': async () => { await cond.acquire(); try { return await cond.waitFor(5, 10); } finally { cond.release(); } },
    'event.wait(NaN)': () => ev.wait(NaN),
    'barrier.wait(NaN)': () => barrier.wait(NaN),
    'new Barrier(2, null, NaN)': () => new b.Barrier(2, null, NaN),
    'new Semaphore(-1)': () => new b.Semaphore(-1),
    'new Barrier(-3)': () => new b.Barrier(-3),
    // Shared memory.
    'Value("zz")': () => b.Value('zz'),
    'RawArray("d", -5)': () => b.RawArray('d', -5),
    'RawArray("d", 2**45)': () => b.RawArray('d', 2 ** 45),
    'SharedMemory size -1': () => new b.SharedMemory({ create: true, size: -1 }),
    'SharedMemory size NaN': () => new b.SharedMemory({ create: true, size: NaN }),
    'SharedMemory size 2**45 (beyond an ArrayBuffer)': () => new b.SharedMemory({ create: true, size: 2 ** 45 }),
    'SharedMemory name 5': () => new b.SharedMemory({ name: 5 }),
    'ShareableList(5)': () => new b.ShareableList(5),
    // Connections.
    'conn.send function': () => c1.send(() => 1),
    'conn.send value with a throwing getter': () => c1.send(throwing),
    'conn.recvBytes(-1)': () => c2.recvBytes(-1),
    'conn.recvBytes(NaN)': () => c2.recvBytes(NaN),
    'conn.poll(NaN)': () => c2.poll(NaN),
    'conn.poll("x")': () => c2.poll('x'),
    // Processes.
    'new Process({target:42}).start()': () => new b.Process({ target: 42 }).start(),
    'Process args unserializable': () => new b.Process({ target: echo, args: [() => 1], modules }).start(),
    'Process args not iterable': () => new b.Process({ target: echo, args: 5, modules }),
    // Managers.
    'manager dict.set function': () => d.set('f', () => 1),
    'manager callMethod args not an array': () => d.callMethod('get', 5),
    'manager Queue(NaN)': () => mgr.Queue(NaN),
    'manager Lock acquire timeout NaN (free lock)': async () => (await mgr.Lock()).acquire({ timeout: NaN }),
    'manager Event wait(NaN)': async () => (await mgr.Event()).wait(NaN),
    // Module-level functions.
    'setForkserverPreload("x")': () => b.setForkserverPreload('x'),
    'getContext("bogus")': () => b.getContext('bogus'),
    'registerModule(5)': () => b.registerModule(5),
  };
  const results = {};
  const failures = [];
  for (const [name, fn] of Object.entries(mustFail)) {
    const r = await outcome(fn);
    results[name] = r.kind === 'typed' ? r.error.split(':')[0] : r;
    if (r.kind !== 'typed') failures.push(`${name} → ${r.kind}${r.error ? ` (${r.error})` : ''}`);
    if (r.kind === 'ok' && r.value instanceof b.Pool) await r.value.terminate();
  }
  // Everything still works afterwards.
  const after = {
    pool: (await pool.apply(work, [3, 0])) === 6,
    queue: (await q.put('x'), (await q.get()) === 'x'),
    lock: (await lock.acquire({ timeout: 1000 })) && (lock.release(), true),
    semaphore: (await sem.acquire({ timeout: 1000 })) && (sem.release(), sem.getValue() === 1),
    barrier: (await Promise.all([barrier.wait(1000), barrier.wait(1000)])).sort().join() === '0,1',
    conn: (c1.send('y'), (await c2.recv()) === 'y'),
    manager: (await d.set('k', 2), (await d.get('k')) === 2),
  };
  c1.close(); c2.close(); q.close();
  await pool.terminate();
  await mgr.shutdown();
  const left = leftoverChildren();
  const usable = Object.values(after).every(Boolean);
  const ok = failures.length === 0 && usable && left.length === 0;
  const notes = [...failures];
  if (!usable) notes.push(`not usable afterwards: ${JSON.stringify(after)}`);
  if (left.length) notes.push(`children left: ${JSON.stringify(left)}`);
  return { ok, notes, figures: { cases: Object.keys(results).length, typed: Object.keys(results).length - failures.length, untypedOrAccepted: failures.length, usableAfter: usable } };
});
