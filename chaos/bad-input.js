// Unserializable arguments, results and queue items, and absurd options (negative sizes,
// NaN timeouts, non-functions) all give typed errors (BilliardError subclasses), thrown
// synchronously or as rejections, within a bound, and leave the objects usable.
import * as b from 'billiard';
import { SHORT, TASKS, scenario, leftoverChildren } from './lib.js';
import { echo, returnFunction, work } from './tasks.js';

const modules = [TASKS];
const BOUND = 5000;
/** Cases that fail today because of a known library bug (see the report); `--skip-known` leaves them out. */
const KNOWN = new Set(['lock.acquire timeout NaN (free lock)']);
const SKIP_KNOWN = process.argv.includes('--skip-known');

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
  // Each case must fail with a typed error.
  const mustFail = {
    'pool.apply unserializable arg': () => pool.apply(echo, [() => 1]),
    'pool.apply symbol arg': () => pool.apply(echo, [Symbol('s')]),
    'pool.apply unserializable result': () => pool.apply(returnFunction),
    'pool.map unserializable item': () => pool.map(echo, [1, () => 2]),
    'pool.apply non-function': () => pool.apply(42),
    'pool.apply string task': () => pool.apply('work'),
    'pool.map non-iterable': () => pool.map(work, 5),
    'pool.apply timeout NaN': () => pool.apply(work, [1], { timeout: NaN }),
    'pool.apply timeout -1': () => pool.apply(work, [1], { timeout: -1 }),
    'new Pool(-1)': () => new b.Pool(-1),
    'new Pool(0)': () => new b.Pool(0),
    'new Pool(NaN)': () => new b.Pool(NaN),
    'new Pool({processes:"x"})': () => new b.Pool({ processes: 'x' }),
    'new Pool({maxTasksPerChild:-1})': () => new b.Pool({ processes: 1, maxTasksPerChild: -1 }),
    'new Pool({initializer:42})': () => new b.Pool({ processes: 1, initializer: 42 }),
    'queue.put function': () => q.put(() => 1),
    'queue.putNowait symbol': () => q.putNowait(Symbol('x')),
    'queue.get timeout NaN': () => q.get({ timeout: NaN }),
    'queue.get timeout -1': () => q.get({ timeout: -1 }),
    'new Queue(NaN)': () => new b.Queue(NaN),
    'lock.acquire timeout NaN (free lock)': () => lock.acquire({ timeout: NaN }).finally(() => { try { lock.release(); } catch {} }),
    'lock.acquire timeout NaN (held lock)': async () => { await lock.acquire(); try { return await lock.acquire({ timeout: NaN }); } finally { lock.release(); } },
    'event.wait(NaN)': () => ev.wait(NaN),
    'new Semaphore(-1)': () => new b.Semaphore(-1),
    'new Barrier(-3)': () => new b.Barrier(-3),
    'Value("zz")': () => b.Value('zz'),
    'RawArray("d", -5)': () => b.RawArray('d', -5),
    'SharedMemory size -1': () => new b.SharedMemory({ create: true, size: -1 }),
    'SharedMemory size NaN': () => new b.SharedMemory({ create: true, size: NaN }),
    'conn.send function': () => c1.send(() => 1),
    'conn.recvBytes(-1)': () => c2.recvBytes(-1),
    'conn.poll(NaN)': () => c2.poll(NaN),
    'new Process({target:42}).start()': () => new b.Process({ target: 42 }).start(),
    'Process args unserializable': () => new b.Process({ target: echo, args: [() => 1], modules }).start(),
    'manager dict.set function': () => d.set('f', () => 1),
    'setForkserverPreload("x")': () => b.setForkserverPreload('x'),
    'getContext("bogus")': () => b.getContext('bogus'),
  };
  const results = {};
  const failures = [];
  for (const [name, fn] of Object.entries(mustFail)) {
    if (SKIP_KNOWN && KNOWN.has(name)) continue;
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
