// Suite `pool`: Pool throughput, latency and supervision with 2 workers, side
// by side with Python's multiprocessing.Pool and billiard's Pool (Debian
// python3-billiard), and the Node.js thread pools piscina, tinypool and
// workerpool (plus workerpool's child-process mode, the like-for-like Node
// process pool).
//
// Rows (targets against py multiprocessing):
//   map of 200k tiny tasks, default chunksize              tasks/s   ≥ 1×
//   imapUnordered, chunksize 1, 20k tiny tasks             tasks/s   ≥ 3×
//   100k applyAsync at once, then await all                tasks/s   ≥ 5×
//   sequential apply round trip                            µs        ≤ 1×
//   hard time limit (timeout: 100) lateness                ms late   (billiard)
//   soft time limit lateness: signal abort / polled        ms late   (billiard)
//   worker loss (task SIGKILLs its worker) → WorkerLostError  ms     (billiard)
//
// BENCH_POOL_SECTIONS=map,imap,applyAsync,apply,limits,loss runs only some sections.
//
// Task functions: bench/fixtures/pool-tasks.js (ours: `modules: [url]`;
// piscina/tinypool load it as their worker file), workerpool-worker.js.
import { Pool } from 'billiard';
import {
  PY_LIBS, defaultOpts, errorText, interleave, msSince, nowNs, pythonLibMissing, runPython, statOf, withTimeout,
} from '../lib/common.js';

export const name = 'pool';
export const title = 'Pool throughput, latency and supervision (2 workers)';

const PROCESSES = 2;
/** A Python anchor that hangs (billiard's pool sometimes does) fails its cell after this. */
let PY_TIMEOUT_MS = 90_000;
const TASKS_URL = new URL('../fixtures/pool-tasks.js', import.meta.url).href;
const WORKERPOOL_SCRIPT = new URL('../fixtures/workerpool-worker.js', import.meta.url);
const T = await import(TASKS_URL);

const wallMs = () => performance.timeOrigin + performance.now();
const range = (n) => Array.from({ length: n }, (_, i) => i);
const fmtK = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));

// ---- our Pool ---------------------------------------------------------------------
async function startOurs() {
  const pool = new Pool({ processes: PROCESSES, modules: [TASKS_URL] });
  await readyOurs(pool);
  return pool;
}

/** Every worker has booted, imported billiard (for currentTask()) and answers (a few tiny tasks each). */
async function readyOurs(pool) {
  await withTimeout(pool.map(T.warm, range(4 * PROCESSES), 1), 30_000, 'pool warm-up');
}

async function withOurs(fn) {
  const pool = await startOurs();
  try {
    return await fn(pool);
  } finally {
    await withTimeout(pool.terminate(), 30_000, 'Pool.terminate');
  }
}

async function oursMap(n, reps) {
  const xs = range(n);
  return withOurs(async (pool) => {
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

async function oursImapUnordered(n, reps) {
  const xs = range(n);
  const once = async (pool) => {
    let count = 0;
    let sum = 0;
    for await (const v of pool.imapUnordered(T.sq, xs, 1)) { count++; sum += v; }
    if (count !== n || sum !== xs.reduce((s, x) => s + x * x, 0)) throw new Error('imapUnordered: wrong result');
  };
  return withOurs(async (pool) => {
    await once(pool);
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      await withTimeout(once(pool), 60_000, 'imapUnordered');
      out.push(n / (msSince(t0) / 1e3));
    }
    return out;
  });
}

async function oursApplyAsync(n, reps) {
  const once = async (pool, m) => {
    const rs = new Array(m);
    for (let i = 0; i < m; i++) rs[i] = pool.applyAsync(T.sq, [i]);
    let last;
    for (let i = 0; i < m; i++) last = await rs[i].get();
    if (last !== (m - 1) * (m - 1)) throw new Error('applyAsync: wrong result');
  };
  return withOurs(async (pool) => {
    await once(pool, Math.min(n, 5000)); // warm-up (Python's is the same size)
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      await withTimeout(once(pool, n), 120_000, 'applyAsync');
      out.push(n / (msSince(t0) / 1e3));
    }
    return out;
  });
}

async function oursApplyLatency(n) {
  return withOurs(async (pool) => {
    for (let i = 0; i < 500; i++) await pool.apply(T.sq, [i]);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = nowNs();
      const v = await pool.apply(T.sq, [i]);
      out[i] = Number(nowNs() - t0) / 1e3;
      if (v !== i * i) throw new Error('apply: wrong result');
    }
    return out;
  });
}

/**
 * Time-limit lateness, ms after (accept time + limit), over `runs` jobs.
 * kind 'hard': spin with { timeout } → TimeLimitExceeded rejection arrives (parent clock);
 * 'soft-signal': waitSoft with { softTimeout } → the task's signal 'abort' event fires (worker clock);
 * 'soft-poll': spinUntilSoft → softTimeLimitExceeded() turns true in a busy loop (worker clock).
 * Accept times are the worker's (acceptCallback), clocks are wall clocks of one machine.
 * Soft samples are |fired − (accept + limit)|: a timer can fire a fraction of a ms early
 * (the signed values go to extra.signed), and a negative "lateness" breaks the ratios.
 */
async function oursLimits(kind, runs, limitMs, extra) {
  return withOurs(async (pool) => {
    const out = [];
    for (let r = 0; r < runs; r++) {
      await readyOurs(pool);
      let accepted = null;
      const acceptCallback = (_pid, time) => { accepted = time; };
      if (kind === 'hard') {
        const res = pool.applyAsync(T.spin, [30_000], { timeout: limitMs, acceptCallback });
        const pidsBefore = pool.workerPids();
        let err = null;
        try {
          await withTimeout(res.get(), 15_000, 'hard limit');
        } catch (e) {
          err = e;
        }
        const now = wallMs();
        if (err?.name !== 'TimeLimitExceeded') throw new Error(`expected TimeLimitExceeded, got ${err ? errorText(err) : 'a result'}`);
        if (accepted === null) throw new Error('hard limit: no accept time');
        out.push(now - (accepted + limitMs));
        extra.replaced = (extra.replaced ?? 0) + (pool.workerPids().some((p) => !pidsBefore.includes(p)) ? 1 : 0);
      } else {
        const fn = kind === 'soft-signal' ? T.waitSoft : T.spinUntilSoft;
        const res = pool.applyAsync(fn, [10_000], { softTimeout: limitMs, acceptCallback });
        const { firedAt } = await withTimeout(res.get(), 15_000, 'soft limit');
        if (accepted === null) throw new Error('soft limit: no accept time');
        const late = firedAt - (accepted + limitMs);
        (extra.signed ??= []).push(late);
        out.push(Math.abs(late));
      }
    }
    return out;
  });
}

/** Worker loss: the task SIGKILLs its own worker; ms from acceptance to the WorkerLostError. */
async function oursWorkerLost(runs, extra) {
  return withOurs(async (pool) => {
    const out = [];
    for (let r = 0; r < runs; r++) {
      await readyOurs(pool);
      let accepted = null;
      const res = pool.applyAsync(T.killSelf, [], { acceptCallback: (_pid, time) => { accepted = time; } });
      let err = null;
      try {
        await withTimeout(res.get(), 15_000, 'worker loss');
      } catch (e) {
        err = e;
      }
      const now = wallMs();
      if (err?.name !== 'WorkerLostError') throw new Error(`expected WorkerLostError, got ${err ? errorText(err) : 'a result'}`);
      out.push(now - (accepted ?? now));
      extra.message ??= err.message;
    }
    // The pool has replaced the worker and still works.
    const v = await withTimeout(pool.apply(T.sq, [7]), 15_000, 'apply after worker loss');
    if (v !== 49) throw new Error('pool broken after worker loss');
    return out;
  });
}

// ---- Node.js thread pools ----------------------------------------------------------
async function loadNodePools() {
  const pools = [];
  const tryImport = async (spec) => {
    try {
      return await import(spec);
    } catch (err) {
      return { __missing: `${spec}: not installed (npm install --save-dev ${spec})`, err };
    }
  };
  const piscina = await tryImport('piscina');
  const tinypool = await tryImport('tinypool');
  const workerpool = await tryImport('workerpool');
  const Piscina = piscina.Piscina ?? piscina.default;
  const Tinypool = tinypool.Tinypool ?? tinypool.default;
  const wp = workerpool.default ?? workerpool;
  pools.push({
    key: 'piscina',
    missing: piscina.__missing,
    make: () => new Piscina({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES }),
    run: (p, i) => p.run(i, { name: 'sq' }),
    close: (p) => p.destroy(),
  });
  pools.push({
    key: 'piscina tuned',
    label: 'piscina (concurrentTasksPerWorker: 32)',
    missing: piscina.__missing,
    make: () => new Piscina({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES, concurrentTasksPerWorker: 32 }),
    run: (p, i) => p.run(i, { name: 'sq' }),
    close: (p) => p.destroy(),
  });
  pools.push({
    key: 'tinypool',
    missing: tinypool.__missing,
    make: () => new Tinypool({ filename: TASKS_URL, minThreads: PROCESSES, maxThreads: PROCESSES }),
    run: (p, i) => p.run(i, { name: 'sq' }),
    close: (p) => p.destroy(),
  });
  pools.push({
    key: 'workerpool',
    missing: workerpool.__missing,
    make: () => wp.pool(WORKERPOOL_SCRIPT.pathname, { minWorkers: PROCESSES, maxWorkers: PROCESSES, workerType: 'thread' }),
    run: (p, i) => p.exec('sq', [i]),
    close: (p) => p.terminate(),
  });
  pools.push({
    key: 'workerpool process',
    label: 'workerpool (child processes)',
    missing: workerpool.__missing,
    make: () => wp.pool(WORKERPOOL_SCRIPT.pathname, { minWorkers: PROCESSES, maxWorkers: PROCESSES, workerType: 'process' }),
    run: (p, i) => p.exec('sq', [i]),
    close: (p) => p.terminate(),
  });
  return pools;
}

async function withNodePool(np, fn) {
  const p = np.make();
  try {
    // Every thread up and JIT-warm before timing.
    await withTimeout(Promise.all(range(2000).map((i) => np.run(p, i))), 60_000, `${np.key} warm-up`);
    return await fn(p);
  } finally {
    await withTimeout(Promise.resolve(np.close(p)), 30_000, `${np.key} close`);
  }
}

/** n run() calls at once, then await all: tasks/s. */
async function nodeBurst(np, n, reps) {
  return withNodePool(np, async (p) => {
    const out = [];
    for (let r = 0; r < reps; r++) {
      const t0 = nowNs();
      const ps = new Array(n);
      for (let i = 0; i < n; i++) ps[i] = np.run(p, i);
      const res = await withTimeout(Promise.all(ps), 120_000, `${np.key} burst`);
      out.push(n / (msSince(t0) / 1e3));
      if (res[n - 1] !== (n - 1) * (n - 1)) throw new Error(`${np.key}: wrong result`);
    }
    return out;
  });
}

async function nodeLatency(np, n) {
  return withNodePool(np, async (p) => {
    for (let i = 0; i < 500; i++) await np.run(p, i);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = nowNs();
      await np.run(p, i);
      out[i] = Number(nowNs() - t0) / 1e3;
    }
    return out;
  });
}

// ---- Python -------------------------------------------------------------------------
function pyThroughput(lib, mode, n, repeat, missing, timeoutMs = PY_TIMEOUT_MS) {
  return async () => {
    if (missing) return missing;
    const res = await runPython('pool_throughput.py', [
      '--lib', lib, '--mode', mode, '--n', n, '--repeat', repeat, '--warmup', 1, '--processes', PROCESSES,
    ], { timeoutMs });
    return res.samples ? res.samples : res;
  };
}

function pyLimits(mode, runs, extraOut, missing, args = []) {
  return async () => {
    if (missing) return missing;
    const res = await runPython('pool_limits.py', [
      '--mode', mode, '--runs', runs, '--processes', PROCESSES, ...args,
    ], { timeoutMs: 2 * PY_TIMEOUT_MS });
    if (res.errors?.length) (extraOut.errors ??= []).push(...res.errors);
    if (res.detail?.length) extraOut.detail ??= res.detail[0];
    if (!res.samples) return res;
    if (res.samples.length === 0) return { error: res.errors?.[0] ?? 'no samples' };
    return res.samples;
  };
}

// ---- the suite -------------------------------------------------------------------------
/** Log how long each variant's chunk takes (stderr), to keep the suite within its time budget. */
function timedVariants(variants, log) {
  return variants.map((v) => ({
    ...v,
    chunk: async (r) => {
      const t0 = Date.now();
      try {
        return await v.chunk(r);
      } finally {
        log(`    ${v.key}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
    },
  }));
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  PY_TIMEOUT_MS = quick ? 45_000 : 90_000;
  const missingBilliard = await pythonLibMissing('billiard');
  const pyMissing = (lib) => (lib === 'billiard' ? missingBilliard : null);
  const nodePools = await loadNodePools();
  const rows = [];
  const started = Date.now();
  // BENCH_POOL_SECTIONS=map,imap,applyAsync,apply,limits,loss runs only those sections.
  const sections = process.env.BENCH_POOL_SECTIONS?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
  const want = (section) => !sections || sections.includes(section);
  const stamp = (what) => log(`  ${what} done at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const pyLabel = (label, what) => `${label} ${what}`;
  const nodeAnchor = (np, samples, key, suffix = '') => (np.missing
    ? { name: `${np.label ?? np.key}${suffix}`, missing: np.missing }
    : { name: `${np.label ?? np.key}${suffix}`, ...statOf(samples[key], 'higher') });

  // ---- map ---------------------------------------------------------------------------
  if (want('map')) {
    const n = 200_000;
    const nNode = quick ? 20_000 : 200_000;
    const rounds = 2;
    const reps = quick ? 3 : 5;
    const variants = [{ key: 'ours', chunk: () => oursMap(n, reps) }];
    for (const { lib, label } of PY_LIBS) {
      variants.push({ key: label, chunk: pyThroughput(lib, 'map', n, reps, pyMissing(lib)) });
    }
    const threadPools = nodePools.filter((np) => ['piscina', 'tinypool', 'workerpool'].includes(np.key));
    for (const np of threadPools) {
      // One burst in the first round only: at 200k, tinypool and workerpool take ~20 s a burst.
      variants.push({ key: np.key, chunk: async (r) => (np.missing ? { missing: np.missing } : r > 0 ? [] : nodeBurst(np, nNode, 1)) });
    }
    log(`  map: ${rounds} rounds; ours/Python ${reps} × map(sq, ${fmtK(n)}) per round; thread pools 1 × ${fmtK(nNode)} run() in round 1`);
    const { samples } = await interleave(timedVariants(variants, log), rounds, log);
    rows.push({
      metric: `map(sq, ${fmtK(n)} ints), default chunksize`,
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(samples.ours, 'higher'),
      anchors: [
        ...PY_LIBS.map(({ label }) => ({ name: pyLabel(label, 'Pool.map'), ...statOf(samples[label], 'higher') })),
        ...threadPools.map((np) => nodeAnchor(np, samples, np.key, `: ${fmtK(nNode)} run() calls (no map)`)),
      ],
      target: { anchor: pyLabel(PY_LIBS[0].label, 'Pool.map'), minRatio: 1, label: '≥ 1× Python Pool.map' },
      note: `default chunksize = ceil(n / (4 × ${PROCESSES})) for ours and Python; the thread pools have no map: `
        + `${fmtK(nNode)} run(x) calls at once, then await all (one message per call, no chunks; one burst each)`,
    });
    stamp('map');
  }

  // ---- imapUnordered, chunksize 1 ----------------------------------------------------
  if (want('imap')) {
    const n = 20_000;
    const rounds = quick ? 2 : 3;
    const reps = quick ? 2 : 4;
    const variants = [{ key: 'ours', chunk: () => oursImapUnordered(n, reps) }];
    for (const { lib, label } of PY_LIBS) {
      variants.push({ key: label, chunk: pyThroughput(lib, 'imap_unordered', n, reps, pyMissing(lib)) });
    }
    log(`  imapUnordered: ${rounds} rounds × ${reps} passes over ${fmtK(n)}`);
    const { samples } = await interleave(timedVariants(variants, log), rounds, log);
    rows.push({
      metric: `imapUnordered(sq, ${fmtK(n)} ints, chunksize 1)`,
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(samples.ours, 'higher'),
      anchors: PY_LIBS.map(({ label }) => ({ name: pyLabel(label, 'imap_unordered'), ...statOf(samples[label], 'higher') })),
      target: { anchor: pyLabel(PY_LIBS[0].label, 'imap_unordered'), minRatio: 3, label: '≥ 3× Python imap_unordered' },
      note: 'one task per message each way; rate = tasks / time to drain the iterator',
    });
    stamp('imapUnordered');
  }

  // ---- applyAsync burst ----------------------------------------------------------------
  if (want('applyAsync')) {
    const n = quick ? 50_000 : 100_000;
    const rounds = quick ? 1 : 2;
    const reps = 2;
    const variants = [{ key: 'ours', chunk: () => oursApplyAsync(n, reps) }];
    for (const { lib, label } of PY_LIBS) {
      variants.push({ key: label, chunk: pyThroughput(lib, 'apply_async', n, reps, pyMissing(lib)) });
    }
    for (const np of nodePools) {
      // One burst, in the first round (the suite's time limit: ~50 s for these five).
      variants.push({ key: np.key, chunk: async (r) => (np.missing ? { missing: np.missing } : r > 0 ? [] : nodeBurst(np, n, 1)) });
    }
    log(`  applyAsync: ${rounds} round(s) × ${reps} bursts of ${fmtK(n)} (Node pools: 1 burst of ${fmtK(n)} run() in round 1)`);
    const { samples } = await interleave(timedVariants(variants, log), rounds, log);
    rows.push({
      metric: `${fmtK(n)} × applyAsync(sq, [i]) at once, then await all`,
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(samples.ours, 'higher'),
      anchors: [
        ...PY_LIBS.map(({ label }) => ({ name: pyLabel(label, 'apply_async'), ...statOf(samples[label], 'higher') })),
        ...nodePools.map((np) => nodeAnchor(np, samples, np.key, ': run()/exec()')),
      ],
      target: { anchor: pyLabel(PY_LIBS[0].label, 'apply_async'), minRatio: 5, label: '≥ 5× Python apply_async' },
      note: 'all submitted before the first await; rate = tasks / time until the last result; the Node pools: one burst each',
    });
    stamp('applyAsync');
  }

  // ---- apply round trip ----------------------------------------------------------------
  if (want('apply')) {
    const n = quick ? 1000 : 3000;
    const rounds = 2;
    const variants = [{ key: 'ours', chunk: () => oursApplyLatency(n) }];
    for (const { lib, label } of PY_LIBS) {
      variants.push({ key: label, chunk: pyThroughput(lib, 'apply', n, 1, pyMissing(lib)) });
    }
    for (const np of nodePools) {
      if (np.key === 'piscina tuned') continue; // same as piscina for one task at a time
      variants.push({ key: np.key, chunk: async () => (np.missing ? { missing: np.missing } : nodeLatency(np, n)) });
    }
    log(`  apply latency: ${rounds} rounds × ${n} sequential round trips`);
    const { samples } = await interleave(timedVariants(variants, log), rounds, log);
    rows.push({
      metric: 'sequential apply(sq, [i]) round trip',
      unit: 'µs',
      better: 'lower',
      ours: statOf(samples.ours, 'lower'),
      anchors: [
        ...PY_LIBS.map(({ label }) => ({ name: pyLabel(label, 'Pool.apply'), ...statOf(samples[label], 'lower') })),
        ...nodePools.filter((np) => np.key !== 'piscina tuned').map((np) => (np.missing
          ? { name: `${np.label ?? np.key}: await run()`, missing: np.missing }
          : { name: `${np.label ?? np.key}: await run()`, ...statOf(samples[np.key], 'lower') })),
      ],
      target: { anchor: pyLabel(PY_LIBS[0].label, 'Pool.apply'), maxRatio: 1, label: '≤ 1× Python Pool.apply' },
      note: 'one task in flight; the thread pools pass messages between threads of one process, no pipe',
    });
    stamp('apply latency');
  }

  // ---- time limits -------------------------------------------------------------------
  if (want('limits')) {
    const limitMs = 100;
    const runs = quick ? 5 : 10;
    const pyRuns = quick ? 3 : 10;
    const extra = { hard: {}, signal: {}, poll: {}, pyHard: {}, pySoft: {} };
    const variants = [
      { key: 'hard', chunk: () => oursLimits('hard', runs, limitMs, extra.hard) },
      { key: 'soft-signal', chunk: () => oursLimits('soft-signal', runs, limitMs, extra.signal) },
      { key: 'soft-poll', chunk: () => oursLimits('soft-poll', runs, limitMs, extra.poll) },
      { key: 'py hard', chunk: pyLimits('hard', pyRuns, extra.pyHard, missingBilliard, ['--limit-ms', limitMs]) },
      { key: 'py soft', chunk: pyLimits('soft', pyRuns, extra.pySoft, missingBilliard, ['--limit-ms', limitMs]) },
    ];
    log(`  time limits: ours ${runs} runs each, billiard ${pyRuns} runs each (random 0–1 s pause before each: its checks run once a second)`);
    const { samples } = await interleave(timedVariants(variants, log), 1, log);
    const noLimits = { name: 'py multiprocessing', missing: 'multiprocessing.Pool has no time limits' };
    const signedText = (e) => {
      const xs = e.signed ?? [];
      if (xs.length === 0) return '';
      const early = xs.filter((x) => x < 0);
      const sorted = [...xs].sort((a, b) => a - b);
      return ` Signed: median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, min ${sorted[0].toFixed(2)} ms`
        + (early.length ? ` (fired early in ${early.length}/${xs.length} runs)` : '') + '.';
    };
    const pyErr = (e) => (e.errors?.length ? `; billiard errors: ${[...new Set(e.errors)].join('; ')}` : '');
    const pyN = (key) => (Array.isArray(samples[key]) ? ` (billiard: ${samples[key].length} samples of ${pyRuns} runs)` : '');
    rows.push({
      metric: `hard time limit (timeout: ${limitMs}) → TimeLimitExceeded, lateness`,
      unit: 'ms late',
      better: 'lower',
      ours: statOf(samples.hard, 'lower'),
      anchors: [{ name: 'py billiard Pool(timeout)', ...statOf(samples['py hard'], 'lower') }, noLimits],
      note: `a spinning task; ms between accept time + ${limitMs} ms and the rejection in the parent `
        + `(worker replaced in ${extra.hard.replaced ?? 0}/${runs} runs by the time it arrives). `
        + `billiard: TimeLimitExceeded from get(), its TimeoutHandler checks once a second${pyN('py hard')}${pyErr(extra.pyHard)}`,
    });
    rows.push({
      metric: `soft time limit (softTimeout: ${limitMs}), currentTask().signal 'abort' fires, |fired − limit|`,
      unit: 'ms off',
      better: 'lower',
      ours: statOf(samples['soft-signal'], 'lower'),
      anchors: [{ name: 'py billiard Pool(soft_timeout)', ...statOf(samples['py soft'], 'lower') }, noLimits],
      note: 'an async task awaiting the abort event; |ms| between accept time + limit and the event (worker clock).'
        + `${signedText(extra.signal)} billiard (always late): SoftTimeLimitExceeded raised in a spinning task (SIGUSR1 from the parent)${pyN('py soft')}${pyErr(extra.pySoft)}`,
    });
    rows.push({
      metric: `soft time limit (softTimeout: ${limitMs}), softTimeLimitExceeded() polled in a busy loop, |seen − limit|`,
      unit: 'ms off',
      better: 'lower',
      ours: statOf(samples['soft-poll'], 'lower'),
      anchors: [{ name: 'py billiard Pool(soft_timeout)', ...statOf(samples['py soft'], 'lower') }, noLimits],
      note: 'a synchronous spin that calls currentTask().softTimeLimitExceeded() each iteration (the signal cannot fire while it spins).'
        + signedText(extra.poll),
    });
    stamp('time limits');
  }

  // ---- worker loss -------------------------------------------------------------------
  if (want('loss')) {
    const runs = quick ? 5 : 10;
    const pyRuns = quick ? 1 : 2;
    const extra = { ours: {}, py: {} };
    const variants = [
      { key: 'ours', chunk: () => oursWorkerLost(runs, extra.ours) },
      { key: 'py', chunk: pyLimits('lost', pyRuns, extra.py, missingBilliard, ['--cap-s', 15]) },
    ];
    log(`  worker loss: ours ${runs} runs, billiard ${pyRuns} (≈ 10 s each: lost_worker_timeout)`);
    const { samples } = await interleave(timedVariants(variants, log), 1, log);
    rows.push({
      metric: "worker loss: task does process.kill(process.pid, 'SIGKILL') → WorkerLostError",
      unit: 'ms',
      better: 'lower',
      ours: statOf(samples.ours, 'lower'),
      anchors: [
        { name: 'py billiard (lost_worker_timeout 10 s)', ...statOf(samples.py, 'lower') },
        { name: 'py multiprocessing', missing: 'no detection: the job never completes (get() blocks forever)' },
      ],
      note: `ms from the task's acceptance to the rejection; ours: "${extra.ours.message ?? '?'}"`
        + (extra.py.detail ? `; billiard: "${extra.py.detail}"` : '')
        + (extra.py.errors?.length ? `; billiard errors: ${[...new Set(extra.py.errors)].join('; ')}` : '')
        + '. billiard waits lost_worker_timeout (10 s) for a result the dead worker might have sent; its cap here is 15 s',
    });
    stamp('worker loss');
  }
  return rows;
}

