// Suite `threads`: the `thread` start method, side by side with the Node.js
// thread pools piscina and tinypool (2 workers each) and with our own spawn
// mode, in one run.
//
// Rows (targets):
//   100k applyAsync at once, thread pool   tasks/s  ≥ 3× piscina (default)
//   same samples                           tasks/s  ≥ 1× piscina (concurrentTasksPerWorker: 32)
//   map of 200k tiny tasks, thread pool    tasks/s  ≥ 1× our Pool in spawn mode
//   Process start → join, thread           ms       (spawn and a bare Worker for reference)
//
// Task functions: bench/fixtures/pool-tasks.js (ours: `modules: [url]`;
// piscina/tinypool load it as their worker file).
import { Worker } from 'node:worker_threads';
import { Pool, Process, getContext } from 'billiard';
import { defaultOpts, interleave, msSince, nowNs, statOf, withTimeout } from '../lib/common.js';

export const name = 'threads';
export const title = 'The thread start method vs piscina and tinypool (2 workers)';

const PROCESSES = 2;
const TASKS_URL = new URL('../fixtures/pool-tasks.js', import.meta.url).href;
const T = await import(TASKS_URL);

const range = (n) => Array.from({ length: n }, (_, i) => i);
const fmtK = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));

// ---- our Pool, thread or spawn -------------------------------------------------------
async function withOurs(method, fn) {
  const pool = new Pool({ processes: PROCESSES, modules: [TASKS_URL], context: getContext(method) });
  try {
    await withTimeout(pool.map(T.pid, range(4 * PROCESSES), 1), 30_000, 'pool warm-up');
    return await fn(pool);
  } finally {
    await withTimeout(pool.terminate(), 30_000, 'Pool.terminate');
  }
}

async function oursApplyAsync(method, n, reps) {
  const once = async (pool) => {
    const rs = new Array(n);
    for (let i = 0; i < n; i++) rs[i] = pool.applyAsync(T.sq, [i]);
    let last;
    for (let i = 0; i < n; i++) last = await rs[i].get();
    if (last !== (n - 1) * (n - 1)) throw new Error('applyAsync: wrong result');
  };
  return withOurs(method, async (pool) => {
    await once(pool); // JIT warm-up
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      await withTimeout(once(pool), 120_000, 'applyAsync');
      out.push(n / (msSince(t0) / 1e3));
    }
    return out;
  });
}

async function oursMap(method, n, reps) {
  const xs = range(n);
  return withOurs(method, async (pool) => {
    for (let i = 0; i < 2; i++) await pool.map(T.sq, xs); // JIT warm-up
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      const res = await withTimeout(pool.map(T.sq, xs), 60_000, 'map');
      out.push(n / (msSince(t0) / 1e3));
      if (res.length !== n || res[n - 1] !== (n - 1) * (n - 1)) throw new Error('map: wrong result');
    }
    return out;
  });
}

async function oursStartJoin(method, n) {
  const ctx = getContext(method);
  const once = async () => {
    const p = new ctx.Process({ target: T.sq, args: [3], modules: [TASKS_URL] });
    p.start();
    await p.join();
    if (p.exitcode !== 0) throw new Error(`exitcode ${p.exitcode}`);
  };
  for (let i = 0; i < 2; i++) await once();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowNs();
    await withTimeout(once(), 30_000, 'start/join');
    out.push(msSince(t0));
  }
  return out;
}

/** A bare Worker running an empty module, started and awaited to exit. */
async function bareWorker(n) {
  const once = () => new Promise((resolve, reject) => {
    const w = new Worker('', { eval: true });
    w.once('error', reject);
    w.once('exit', resolve);
  });
  await once();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowNs();
    await once();
    out.push(msSince(t0));
  }
  return out;
}

// ---- piscina, tinypool -----------------------------------------------------------------
async function loadNodePools() {
  const tryImport = async (spec) => {
    try {
      return await import(spec);
    } catch {
      return { __missing: `${spec}: not installed (npm install --save-dev ${spec})` };
    }
  };
  const piscina = await tryImport('piscina');
  const tinypool = await tryImport('tinypool');
  const Piscina = piscina.Piscina ?? piscina.default;
  const Tinypool = tinypool.Tinypool ?? tinypool.default;
  return [
    {
      key: 'piscina',
      missing: piscina.__missing,
      make: () => new Piscina({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES }),
    },
    {
      key: 'piscina tuned',
      label: 'piscina (concurrentTasksPerWorker: 32)',
      missing: piscina.__missing,
      make: () => new Piscina({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES, concurrentTasksPerWorker: 32 }),
    },
    {
      key: 'tinypool',
      missing: tinypool.__missing,
      make: () => new Tinypool({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES }),
    },
  ];
}

/** n run() calls at once, then await all: tasks/s. */
async function nodeBurst(np, n, reps) {
  if (np.missing) return { missing: np.missing };
  const p = np.make();
  try {
    await withTimeout(Promise.all(range(2000).map((i) => p.run(i, { name: 'sq' }))), 60_000, `${np.key} warm-up`);
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      const ps = new Array(n);
      for (let i = 0; i < n; i++) ps[i] = p.run(i, { name: 'sq' });
      const res = await withTimeout(Promise.all(ps), 120_000, `${np.key} burst`);
      out.push(n / (msSince(t0) / 1e3));
      if (res[n - 1] !== (n - 1) * (n - 1)) throw new Error(`${np.key}: wrong result`);
    }
    return out;
  } finally {
    await withTimeout(Promise.resolve(p.destroy()), 30_000, `${np.key} close`);
  }
}

// ---- the suite -------------------------------------------------------------------------
export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const nodePools = await loadNodePools();
  const rows = [];
  const anchor = (np, samples, suffix) => (np.missing
    ? { name: `${np.label ?? np.key}${suffix}`, missing: np.missing }
    : { name: `${np.label ?? np.key}${suffix}`, ...statOf(samples[np.key], 'higher') });

  // ---- applyAsync burst ----------------------------------------------------------------
  {
    const n = quick ? 20_000 : 100_000;
    const rounds = quick ? 2 : 3;
    const reps = quick ? 1 : 2;
    const variants = [
      { key: 'thread', chunk: () => oursApplyAsync('thread', n, reps) },
      { key: 'spawn', chunk: () => oursApplyAsync('spawn', n, reps) },
      ...nodePools.map((np) => ({ key: np.key, chunk: () => nodeBurst(np, n, reps) })),
    ];
    log(`  applyAsync: ${rounds} rounds × ${reps} bursts of ${fmtK(n)}`);
    const { samples } = await interleave(variants, rounds, log);
    const anchors = [
      { name: 'ours, spawn mode', ...statOf(samples.spawn, 'higher') },
      ...nodePools.map((np) => anchor(np, samples, ': run()')),
    ];
    const base = {
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(samples.thread, 'higher'),
      anchors,
      note: 'all submitted before the first await; rate = tasks / time until the last result',
    };
    rows.push({
      ...base,
      metric: `${fmtK(n)} × applyAsync(sq, [i]) at once, thread mode`,
      target: { anchor: 'piscina: run()', minRatio: 3, label: '≥ 3× piscina (default)' },
    });
    rows.push({
      ...base,
      metric: `${fmtK(n)} × applyAsync(sq, [i]) at once, thread mode (vs tuned piscina)`,
      target: { anchor: 'piscina (concurrentTasksPerWorker: 32): run()', minRatio: 1, label: '≥ 1× piscina tuned' },
    });
  }

  // ---- map -----------------------------------------------------------------------------
  {
    const n = quick ? 50_000 : 200_000;
    const rounds = quick ? 2 : 3;
    const reps = quick ? 2 : 4;
    const variants = [
      { key: 'thread', chunk: () => oursMap('thread', n, reps) },
      { key: 'spawn', chunk: () => oursMap('spawn', n, reps) },
      ...nodePools.filter((np) => np.key !== 'piscina tuned').map((np) => ({ key: np.key, chunk: () => nodeBurst(np, n, 1) })),
    ];
    log(`  map: ${rounds} rounds × ${reps} maps over ${fmtK(n)} (thread pools: 1 burst of ${fmtK(n)} run() per round)`);
    const { samples } = await interleave(variants, rounds, log);
    rows.push({
      metric: `map(sq, ${fmtK(n)} ints), default chunksize, thread mode`,
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(samples.thread, 'higher'),
      anchors: [
        { name: 'ours, spawn mode', ...statOf(samples.spawn, 'higher') },
        ...nodePools.filter((np) => np.key !== 'piscina tuned').map((np) => anchor(np, samples, `: ${fmtK(n)} run() (no map)`)),
      ],
      target: { anchor: 'ours, spawn mode', minRatio: 1, label: '≥ 1× spawn mode' },
      note: 'chunks of ceil(n / 8) items; the thread pools have no map: one run() per item',
    });
  }

  // ---- start → join ----------------------------------------------------------------------
  {
    const n = quick ? 5 : 15;
    const variants = [
      { key: 'thread', chunk: () => oursStartJoin('thread', n) },
      { key: 'spawn', chunk: () => oursStartJoin('spawn', Math.ceil(n / 3)) },
      { key: 'worker', chunk: () => bareWorker(n) },
    ];
    log(`  start→join: ${n} starts`);
    const { samples } = await interleave(variants, 2, log);
    rows.push({
      metric: 'Process start() → join(), thread mode',
      unit: 'ms',
      better: 'lower',
      ours: statOf(samples.thread, 'lower'),
      anchors: [
        { name: 'ours, spawn mode', ...statOf(samples.spawn, 'lower') },
        { name: "bare new Worker('', { eval: true }) to exit", ...statOf(samples.worker, 'lower') },
      ],
      note: 'the thread imports the bootstrap, the library and the task module',
    });
  }
  return rows;
}
