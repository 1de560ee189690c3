// Suite `sync`: synchronization primitives and shared memory, side by side with
// Python's multiprocessing/billiard. Targets (issue 3): uncontended Lock
// acquire+release no slower than Python's; two processes contending for a Lock
// protecting a Value ≥ 2× Python's ops/s; Event ping-pong between processes no
// slower than Python; shared-memory fill by a child + sum by the parent ≥ 2×
// Python's MiB/s.
import { BoundedSemaphore, Event, Lock, Process, RawArray, Semaphore, Value } from 'billiard';
import { PY_LIBS, defaultOpts, interleave, nowNs, pythonLibMissing, runPython, statOf, withTimeout } from '../lib/common.js';

export const name = 'sync';
export const title = 'Locks, Events and shared memory';

const TASKS = new URL('../fixtures/sync-tasks.js', import.meta.url).href;
const tasks = await import(TASKS);

function start(target, args) {
  const p = new Process({ target, args, modules: [TASKS] });
  p.start();
  return p;
}

async function finish(p) {
  await withTimeout(p.join(), 60_000, 'join');
  if (p.exitcode !== 0) throw new Error(`child exited with ${p.exitcode}`);
}

// ---- variants of ours ----------------------------------------------------------------
function lockUncontendedSync(count, rounds) {
  const lock = new Lock();
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowNs();
    for (let i = 0; i < count; i++) {
      lock.acquireSync();
      lock.release();
    }
    out.push(Number(nowNs() - t0) / count);
  }
  return out;
}

async function lockUncontendedAsync(count, rounds) {
  const lock = new Lock();
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowNs();
    for (let i = 0; i < count; i++) {
      await lock.acquire();
      lock.release();
    }
    out.push(Number(nowNs() - t0) / count);
  }
  return out;
}

async function contendOnce(count) {
  const lock = new Lock();
  const value = Value('i', 0, { lock: false });
  const go = new Event();
  const done = new Semaphore(0);
  const ps = [0, 1].map(() => start(tasks.contend, [lock, value, go, done, count]));
  await new Promise((r) => setTimeout(r, 300)); // both children booted and waiting
  const t0 = nowNs();
  go.set();
  await done.acquire();
  await done.acquire();
  const s = Number(nowNs() - t0) / 1e9;
  await Promise.all(ps.map(finish));
  if (value.value !== 2 * count) throw new Error(`lost updates: ${value.value}`);
  return 2 * count / s;
}

async function eventPingPong(mode, count) {
  const ping = new Event();
  const pong = new Event();
  const warm = 200;
  const p = start(mode === 'sync' ? tasks.pongSync : tasks.pongAsync, [ping, pong, count + warm]);
  const out = [];
  for (let i = 0; i < count + warm; i++) {
    const t0 = nowNs();
    ping.set();
    if (mode === 'sync') pong.waitSync(); else await pong.wait();
    pong.clear();
    if (i >= warm) out.push(Number(nowNs() - t0) / 1e3);
  }
  await finish(p);
  return out;
}

async function fillSum(mib, rounds) {
  const n = (mib << 20) / 8;
  const arr = RawArray('d', n);
  const go = new Semaphore(0);
  const done = new BoundedSemaphore(1);
  done.acquireSync();
  const p = start(tasks.filler, [arr, go, done, rounds]);
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowNs();
    go.release();
    await done.acquire();
    let total = 0;
    for (let i = 0; i < n; i++) total += arr[i];
    const s = Number(nowNs() - t0) / 1e9;
    if (total !== n * (r + 1)) throw new Error(`bad sum ${total}`);
    out.push(mib / s);
  }
  await finish(p);
  return out.slice(1); // the first round includes the child's boot
}

// ---- the suite ---------------------------------------------------------------------------
export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const missingBilliard = await pythonLibMissing('billiard');
  const py = (lib, args) => async () => {
    if (lib === 'billiard' && missingBilliard) return missingBilliard;
    const res = await runPython('sync_bench.py', ['--lib', lib, ...args], { timeoutMs: 180_000 });
    return res.samples ? res.samples : res;
  };
  const pyVariants = (prefix, args) => PY_LIBS.map(({ lib, label }) => ({ key: `${label} ${prefix}`, chunk: py(lib, args) }));
  const anchors = (samples, prefix, better, what) =>
    PY_LIBS.map(({ label }) => ({ name: `${label} ${what}`, ...statOf(samples[`${label} ${prefix}`], better) }));
  const rows = [];

  const lockCount = quick ? 300_000 : 1_000_000;
  const contendCount = quick ? 100_000 : 300_000;
  const pingCount = quick ? 1000 : 3000;
  const mib = 32;
  const rounds = quick ? 2 : 3;

  const variants = [
    { key: 'lock sync', chunk: async () => lockUncontendedSync(lockCount, 5) },
    { key: 'lock async', chunk: () => lockUncontendedAsync(lockCount, 5) },
    ...pyVariants('lock', ['--case', 'lock', '--count', lockCount, '--rounds', 5]),
    { key: 'contend', chunk: async () => [await contendOnce(contendCount)] },
    ...pyVariants('contend', ['--case', 'contend', '--count', contendCount, '--rounds', 1]),
    { key: 'event sync', chunk: () => eventPingPong('sync', pingCount) },
    { key: 'event async', chunk: () => eventPingPong('async', pingCount) },
    ...pyVariants('event', ['--case', 'event', '--count', pingCount]),
    { key: 'fill', chunk: () => fillSum(mib, 4) },
    ...pyVariants('fill', ['--case', 'fill', '--mib', mib, '--rounds', 3]),
  ];
  log(`  ${rounds} rounds`);
  const { samples } = await interleave(variants, rounds, log);

  for (const mode of ['sync', 'async']) {
    rows.push({
      metric: `Lock uncontended ${mode === 'sync' ? 'acquireSync()' : 'await acquire()'} + release()`,
      unit: 'ns/op', better: 'lower',
      ours: statOf(samples[`lock ${mode}`], 'lower'),
      anchors: anchors(samples, 'lock', 'lower', 'Lock acquire+release'),
      target: { anchor: 'py multiprocessing Lock acquire+release', maxRatio: 1.0, label: '≤ 1.00× Python' },
    });
  }
  rows.push({
    metric: 'two processes contending for a Lock protecting a Value (acquireSync, value += 1, release)',
    unit: 'ops/s', better: 'higher',
    ours: statOf(samples.contend, 'higher'),
    anchors: anchors(samples, 'contend', 'higher', 'with lock: v.value += 1'),
    target: { anchor: 'py multiprocessing with lock: v.value += 1', minRatio: 2.0, label: '≥ 2× Python ops/s' },
  });
  for (const mode of ['sync', 'async']) {
    rows.push({
      metric: `Event ping-pong between processes, ${mode === 'sync' ? 'waitSync (both ends)' : 'await wait (both ends)'}`,
      unit: 'µs/rt', better: 'lower',
      ours: statOf(samples[`event ${mode}`], 'lower'),
      anchors: anchors(samples, 'event', 'lower', 'Event set/wait'),
      target: { anchor: 'py multiprocessing Event set/wait', maxRatio: 1.0, label: '≤ 1.00× Python' },
    });
  }
  rows.push({
    metric: `shared memory: child fills ${mib} MiB float64, parent sums`,
    unit: 'MiB/s', better: 'higher',
    ours: statOf(samples.fill, 'higher'),
    anchors: anchors(samples, 'fill', 'higher', 'RawArray slice fill + sum(memoryview)'),
    target: { anchor: 'py multiprocessing RawArray slice fill + sum(memoryview)', minRatio: 2.0, label: '≥ 2× Python MiB/s' },
    note: 'ours: RawArray(\'d\').fill in the child, a JS loop sum in the parent; Python: slice copy of a prepared buffer, sum(memoryview.cast(\'d\'))',
  });
  return rows;
}
