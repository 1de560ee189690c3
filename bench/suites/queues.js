// Suite `queues`: Queue throughput across processes, side by side with
// Python's multiprocessing.Queue (and billiard's when installed). Targets
// (issue 4): small items one producer → one consumer ≥ 2× Python's msgs/s;
// 1 MiB items ≥ 2× Python's MiB/s; 2 producers × 2 consumers reported.
import { Event, Process, Queue, Semaphore } from 'billiard';
import { PY_LIBS, defaultOpts, interleave, nowNs, pythonLibMissing, runPython, statOf, withTimeout } from '../lib/common.js';

export const name = 'queues';
export const title = 'Queues across processes';

const TASKS = new URL('../fixtures/queue-tasks.js', import.meta.url).href;
const tasks = await import(TASKS);

function start(target, args) {
  const p = new Process({ target, args, modules: [TASKS] });
  p.start();
  return p;
}

/** `work` must finish before any child fails (a failed child would leave it waiting forever). */
async function guarded(children, work) {
  const failed = Promise.race(children.map((p) => p.join().then(() => {
    if (p.exitcode !== 0) throw new Error(`child exited with ${p.exitcode}`);
    return new Promise(() => {}); // a clean exit is not a failure
  })));
  const result = await withTimeout(Promise.race([work, failed]), 120_000, 'queue bench');
  await Promise.all(children.map((p) => withTimeout(p.join(), 60_000, 'join')));
  for (const p of children) if (p.exitcode !== 0) throw new Error(`child exited with ${p.exitcode}`);
  return result;
}

const booted = () => new Promise((r) => setTimeout(r, 300)); // children started and waiting on `go`

/** One producer child → this process: msgs/s. `mode` 'async' (await put / await get) or 'sync' (putSync / getSync). */
async function small(mode, n) {
  const q = new Queue();
  const go = new Event();
  const p = start(mode === 'sync' ? tasks.produceSmallSync : tasks.produceSmall, [q, go, n]);
  await booted();
  return guarded([p], (async () => {
    const t0 = nowNs();
    go.set();
    if (mode === 'sync') for (let i = 0; i < n; i++) q.getSync();
    else for (let i = 0; i < n; i++) await q.get();
    return n / (Number(nowNs() - t0) / 1e9);
  })());
}

/** One producer child puts `n` Buffers of `size` bytes → this process: MiB/s. */
async function bytes(n, size) {
  const q = new Queue();
  const go = new Event();
  const p = start(tasks.produceBytes, [q, go, n, size]);
  await booted();
  return guarded([p], (async () => {
    const t0 = nowNs();
    go.set();
    for (let i = 0; i < n; i++) {
      const b = await q.get();
      if (b.length !== size) throw new Error(`got ${b.length} bytes`);
    }
    return (n * size) / 2 ** 20 / (Number(nowNs() - t0) / 1e9);
  })());
}

/** Two producer children × two consumer children, `n` items per producer: msgs/s. */
async function mpmc(n) {
  const q = new Queue();
  const go = new Event();
  const done = new Semaphore(0);
  const children = [
    start(tasks.produceSmall, [q, go, n]), start(tasks.produceSmall, [q, go, n]),
    start(tasks.consumeN, [q, n, done]), start(tasks.consumeN, [q, n, done]),
  ];
  await booted();
  return guarded(children, (async () => {
    const t0 = nowNs();
    go.set();
    await done.acquire();
    await done.acquire();
    return (2 * n) / (Number(nowNs() - t0) / 1e9);
  })());
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const missingBilliard = await pythonLibMissing('billiard');
  const py = (lib, args) => async () => {
    if (lib === 'billiard' && missingBilliard) return missingBilliard;
    const res = await runPython('queues_bench.py', ['--lib', lib, ...args], { timeoutMs: 180_000 });
    return res.samples ? res.samples : res;
  };
  const pyVariants = (prefix, args) => PY_LIBS.map(({ lib, label }) => ({ key: `${label} ${prefix}`, chunk: py(lib, args) }));
  const anchors = (samples, prefix, what) =>
    PY_LIBS.map(({ label }) => ({ name: `${label} ${what}`, ...statOf(samples[`${label} ${prefix}`], 'higher') }));

  const nSmall = quick ? 100_000 : 300_000;
  const nPySmall = quick ? 100_000 : 200_000;
  const nBytes = quick ? 200 : 500;
  const nPyBytes = quick ? 150 : 300;
  const nMpmc = quick ? 100_000 : 200_000;
  const nPyMpmc = quick ? 50_000 : 100_000;
  const rounds = quick ? 2 : 3;
  const MiB = 1 << 20;

  const variants = [
    { key: 'small async', chunk: async () => [await small('async', nSmall)] },
    { key: 'small sync', chunk: async () => [await small('sync', nSmall)] },
    ...pyVariants('small', ['--case', 'small', '--count', nPySmall]),
    { key: 'bytes', chunk: async () => [await bytes(nBytes, MiB)] },
    ...pyVariants('bytes', ['--case', 'bytes', '--count', nPyBytes, '--size', MiB]),
    { key: 'mpmc', chunk: async () => [await mpmc(nMpmc)] },
    ...pyVariants('mpmc', ['--case', 'mpmc', '--count', nPyMpmc]),
  ];
  log(`  ${rounds} rounds`);
  const { samples } = await interleave(variants, rounds, log);

  const rows = [];
  for (const mode of ['async', 'sync']) {
    rows.push({
      metric: `small items (ints), 1 producer process → 1 consumer process, ${mode === 'async' ? 'await put / await get' : 'putSync / getSync'}`,
      unit: 'msgs/s', better: 'higher',
      ours: statOf(samples[`small ${mode}`], 'higher'),
      anchors: anchors(samples, 'small', 'Queue put/get'),
      target: { anchor: 'py multiprocessing Queue put/get', minRatio: 2.0, label: '≥ 2× Python msgs/s' },
    });
  }
  rows.push({
    metric: '1 MiB Buffers, 1 producer process → 1 consumer process (await put / await get)',
    unit: 'MiB/s', better: 'higher',
    ours: statOf(samples.bytes, 'higher'),
    anchors: anchors(samples, 'bytes', 'Queue put/get of 1 MiB bytes'),
    target: { anchor: 'py multiprocessing Queue put/get of 1 MiB bytes', minRatio: 2.0, label: '≥ 2× Python MiB/s' },
  });
  rows.push({
    metric: 'small items, 2 producer processes × 2 consumer processes (await put / await get)',
    unit: 'msgs/s', better: 'higher',
    ours: statOf(samples.mpmc, 'higher'),
    anchors: anchors(samples, 'mpmc', 'Queue 2×2'),
    note: 'no target: reported',
  });
  return rows;
}
