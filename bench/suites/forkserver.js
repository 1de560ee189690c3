// Suite `forkserver`: the forkserver start method, side by side with our spawn
// and with Python's multiprocessing/billiard forkserver, in one run.
//
// Rows (targets):
//   Process start → join of a no-op child, a spare ready   ms       < 5 ms median
//   Pool(2, maxTasksPerChild: 1): every task a new worker  tasks/s  ≥ 3× our spawn
//
// Task functions: bench/fixtures/tasks.js (noop) and pool-tasks.js (sq).
import { Pool, getContext, setForkserverPreload } from 'billiard';
import {
  FIXTURES_URL, PY_LIBS, defaultOpts, interleave, msSince, nowNs, pythonLibMissing, runPython, startJoinMs, statOf, withTimeout,
} from '../lib/common.js';

export const name = 'forkserver';
export const title = 'The forkserver start method';

const PROCESSES = 2;
const POOL_TASKS_URL = new URL('../fixtures/pool-tasks.js', import.meta.url).href;
const { noop } = await import(FIXTURES_URL);
const T = await import(POOL_TASKS_URL);
const range = (n) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const startJoin = (method) => startJoinMs(getContext(method).Process, noop, [FIXTURES_URL]);

/** Starts one after another; with a pause between them (untimed) when `settle`, so that a spare is ready. */
async function startJoins(method, k, settle) {
  const out = [];
  for (let i = 0; i < k; i++) {
    if (settle) await sleep(settle);
    out.push(await startJoin(method));
  }
  return out;
}

async function recycleRate(method, n) {
  const pool = new Pool({ processes: PROCESSES, maxTasksPerChild: 1, context: getContext(method), modules: [POOL_TASKS_URL] });
  try {
    await withTimeout(pool.map(T.pid, range(2 * PROCESSES), 1), 60_000, 'pool warm-up');
    const t0 = nowNs();
    const res = await withTimeout(pool.map(T.sq, range(n), 1), 120_000, 'map');
    if (res[n - 1] !== (n - 1) * (n - 1)) throw new Error('map: wrong result');
    return [n / (msSince(t0) / 1e3)];
  } finally {
    await withTimeout(pool.terminate(), 30_000, 'Pool.terminate');
  }
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const rounds = quick ? 3 : 5;
  const starts = quick ? 8 : 15;
  const recycleN = quick ? 40 : 80;
  const recycleRounds = quick ? 2 : 3;
  const missingBilliard = await pythonLibMissing('billiard');
  // The task modules imported by the server, as Python's forkserver imports the main module
  // (which imports the tasks) before it forks.
  setForkserverPreload([FIXTURES_URL, POOL_TASKS_URL]);
  const py = (script, lib, args) => async () => {
    if (lib === 'billiard' && missingBilliard) return missingBilliard;
    const res = await runPython(script, ['--lib', lib, ...args]);
    return res.samples ? res.samples : res;
  };

  log(`  start→join: ${rounds} rounds × ${starts} starts; recycling: ${recycleRounds} rounds × map over ${recycleN} tasks`);
  const startVariants = [
    { key: 'forkserver', chunk: async (r) => { if (r === 0) await startJoins('forkserver', 3, 40); return startJoins('forkserver', starts, 40); } },
    { key: 'forkserver back-to-back', chunk: () => startJoins('forkserver', starts, 0) },
    { key: 'spawn', chunk: async (r) => { if (r === 0) await startJoin('spawn'); return startJoins('spawn', Math.ceil(starts / 3), 0); } },
    ...PY_LIBS.map(({ lib, label }) => ({
      key: `${label} forkserver`,
      chunk: py('process_start.py', lib, ['--method', 'forkserver', '--iterations', starts, '--warmup', 1]),
    })),
  ];
  const { samples: s1 } = await interleave(startVariants, rounds, log);

  const recycleVariants = [
    { key: 'forkserver', chunk: () => recycleRate('forkserver', recycleN) },
    { key: 'spawn', chunk: () => recycleRate('spawn', Math.ceil(recycleN / 3)) },
    ...PY_LIBS.map(({ lib, label }) => ({
      key: `${label} forkserver`,
      // billiard's recycling runs at a few tasks per second: fewer tasks keep the run bounded.
      chunk: py('pool_recycle.py', lib, ['--method', 'forkserver', '--n', lib === 'billiard' ? recycleN / 4 : recycleN, '--repeat', 1]),
    })),
  ];
  const { samples: s2 } = await interleave(recycleVariants, recycleRounds, log);

  return [
    {
      metric: 'start→join, forkserver (a spare ready)',
      unit: 'ms',
      better: 'lower',
      ours: statOf(s1.forkserver, 'lower'),
      anchors: [
        { name: 'ours, forkserver back-to-back', ...statOf(s1['forkserver back-to-back'], 'lower') },
        { name: 'ours, spawn', ...statOf(s1.spawn, 'lower') },
        ...PY_LIBS.map(({ label }) => ({ name: `${label} forkserver`, ...statOf(s1[`${label} forkserver`], 'lower') })),
      ],
      target: { max: 5, label: '< 5 ms median' },
      note: 'new ctx.Process({ target: noop }).start(); await join(); the task module preloaded (setForkserverPreload), as Python preloads __main__. "A spare ready": 40 ms (untimed) between starts; back-to-back: none',
    },
    {
      metric: `Pool(${PROCESSES}, maxTasksPerChild: 1), map chunksize 1: a new worker per task`,
      unit: 'tasks/s',
      better: 'higher',
      ours: statOf(s2.forkserver, 'higher'),
      anchors: [
        { name: 'ours, spawn', ...statOf(s2.spawn, 'higher') },
        ...PY_LIBS.map(({ label }) => ({ name: `${label} forkserver`, ...statOf(s2[`${label} forkserver`], 'higher') })),
      ],
      target: { anchor: 'ours, spawn', minRatio: 3, label: '≥ 3× spawn' },
      note: 'the same map under each context; Python: ctx.Pool(2, maxtasksperchild=1).map(sq, range(n), 1)',
    },
  ];
}
