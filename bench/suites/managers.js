// Suite `managers`: SyncManager start, dict round trips from one process
// (awaited one by one, and pipelined), 4 processes hammering one dict, and
// connection set-up with authkey (Listener/Client; proxy creation), side by
// side with Python's multiprocessing/billiard managers.
// Targets (issue 6): dict round trips ≥ 2× Python; connect with authkey well below Python's.
import { Manager, Process } from 'billiard';
import { Client, Listener } from 'billiard/connection';
import { PY_LIBS, defaultOpts, interleave, pythonLibMissing, runPython, statOf, withTimeout } from '../lib/common.js';

export const name = 'managers';
export const title = 'Managers: start, dict round trips, 4 processes on one dict, authenticated connect';

const SELF = import.meta.url;

/**
 * Child target: warm up (a fresh V8 runs cold code ≈ 4× slower for its first
 * few thousand calls), wait for the go event, then `n` set+get pairs; reports
 * its [start, end] on the monotonic clock.
 */
export async function hammerWorker(d, n, key, ev, spans, warmup = 0) {
  for (let i = 0; i < warmup; i++) {
    await d.set(key, i);
    await d.get(key);
  }
  await spans.append('ready');
  await ev.wait();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await d.set(key, i);
    await d.get(key);
  }
  await spans.append([String(t0), String(process.hrtime.bigint())]);
}

const now = () => performance.now();

async function oursStart(reps) {
  const samples = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    const m = await Manager();
    samples.push(now() - t0);
    await m.shutdown();
  }
  return samples;
}

async function oursDict(count, reps, inflight) {
  const m = await Manager();
  try {
    const d = await m.dict();
    const round = async () => {
      if (inflight === 1) {
        for (let i = 0; i < count; i++) {
          await d.set('k', i);
          await d.get('k');
        }
        return;
      }
      // `inflight` calls outstanding at any time, in order (pipelined on the one connection).
      const window = [];
      for (let i = 0; i < count; i++) {
        window.push(d.set('k', i), d.get('k'));
        if (window.length >= inflight) await Promise.all(window.splice(0));
      }
      await Promise.all(window);
    };
    for (let i = 0; i < 3; i++) await round(); // warm-up (JIT)
    const samples = [];
    for (let r = 0; r < reps; r++) {
      const t0 = now();
      await round();
      samples.push((2 * count) / ((now() - t0) / 1e3));
    }
    return samples;
  } finally {
    await m.shutdown();
  }
}

async function oursHammer(count, reps) {
  const m = await Manager();
  try {
    const d = await m.dict();
    const samples = [];
    for (let r = 0; r < reps; r++) {
      const ev = await m.Event();
      const spans = await m.list();
      const procs = Array.from({ length: 4 }, (_, i) => new Process({ target: hammerWorker, args: [d, count, `p${i}`, ev, spans, 3000], modules: [SELF] }));
      for (const p of procs) p.start();
      // Every worker has warmed up when it has said 'ready'.
      const deadline = Date.now() + 60_000;
      while ((await spans.len()) < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await ev.set();
      for (const p of procs) await withTimeout(p.join(), 60_000, 'hammer worker');
      if (procs.some((p) => p.exitcode !== 0)) throw new Error(`hammer worker exited with ${procs.map((p) => p.exitcode)}`);
      const got = (await spans.toArray()).filter((x) => x !== 'ready').map(([s, e]) => [BigInt(s), BigInt(e)]);
      const start = got.reduce((a, [s]) => (s < a ? s : a), got[0][0]);
      const end = got.reduce((a, [, e]) => (e > a ? e : a), got[0][1]);
      samples.push((4 * 2 * count) / (Number(end - start) / 1e9));
      ev.release(); spans.release();
    }
    return samples;
  } finally {
    await m.shutdown();
  }
}

async function oursConnect(count) {
  const authkey = Buffer.alloc(32, 0x6b);
  const listener = new Listener(['127.0.0.1', 0], { authkey });
  let serving = true;
  const served = (async () => {
    while (serving) {
      try { (await listener.accept()).close(); } catch { break; }
    }
  })();
  try {
    for (let i = 0; i < 50; i++) (await Client(listener.address, { authkey })).close();
    const samples = [];
    for (let i = 0; i < count; i++) {
      const t0 = now();
      const c = await Client(listener.address, { authkey });
      samples.push(now() - t0);
      c.close();
    }
    return samples;
  } finally {
    serving = false;
    listener.close();
    await served;
  }
}

async function oursCreate(count) {
  const m = await Manager();
  try {
    for (let i = 0; i < 50; i++) (await m.list()).release();
    const samples = [];
    for (let i = 0; i < count; i++) {
      const t0 = now();
      const l = await m.list();
      samples.push(now() - t0);
      l.release();
    }
    return samples;
  } finally {
    await m.shutdown();
  }
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const missingBilliard = await pythonLibMissing('billiard');
  const pyMissing = (lib) => (lib === 'billiard' ? missingBilliard : null);
  const py = (what, args) => async (lib) => {
    const missing = pyMissing(lib);
    if (missing) return missing;
    const res = await runPython('managers_bench.py', ['--lib', lib, '--what', what, ...args], { timeoutMs: 180_000 });
    return res.samples ?? res;
  };
  const rounds = quick ? 2 : 3;
  const rows = [];
  const pyAnchors = (samples, better, label) => PY_LIBS.map(({ label: l }) => ({ name: `${l} ${label}`, ...statOf(samples[l], better) }));
  const variantsWith = (ours, pyRun) => [
    ...Object.entries(ours).map(([key, chunk]) => ({ key, chunk })),
    ...PY_LIBS.map(({ lib, label }) => ({ key: label, chunk: () => pyRun(lib) })),
  ];

  // ---- start
  {
    const reps = quick ? 2 : 4;
    log(`  start: ${rounds} rounds × ${reps}`);
    const { samples } = await interleave(variantsWith({ ours: () => oursStart(reps) }, py('start', ['--reps', reps])), rounds, log);
    rows.push({
      metric: 'Manager() start (server process up, connected)', unit: 'ms', better: 'lower',
      ours: statOf(samples.ours, 'lower'), anchors: pyAnchors(samples, 'lower', 'Manager() (fork)'),
      note: 'ours spawns a fresh Node.js process (≈ 70 ms CPU floor); Python forks.',
    });
  }

  // ---- dict round trips
  {
    const count = quick ? 2000 : 5000;
    const reps = quick ? 2 : 4;
    log(`  dict: ${rounds} rounds × ${reps} × ${count} set+get pairs`);
    const { samples } = await interleave(variantsWith({
      'ours awaited': () => oursDict(count, reps, 1),
      'ours pipelined': () => oursDict(count, reps, 64),
    }, py('dict', ['--count', count, '--reps', reps])), rounds, log);
    for (const [key, text] of [['ours awaited', 'each call awaited before the next'], ['ours pipelined', '64 calls in flight (Promise.all)']]) {
      rows.push({
        metric: `dict set+get from one process, ${text}`, unit: 'ops/s', better: 'higher',
        ours: statOf(samples[key], 'higher'), anchors: pyAnchors(samples, 'higher', "d['k'] = i; d['k']"),
        target: { anchor: "py multiprocessing d['k'] = i; d['k']", minRatio: 2, label: '≥ 2× Python' },
      });
    }
  }

  // ---- 4 processes on one dict
  {
    const count = quick ? 1000 : 2500;
    const reps = quick ? 1 : 2;
    log(`  hammer: ${rounds} rounds × ${reps} × 4 processes × ${count} set+get pairs`);
    const { samples } = await interleave(variantsWith({ ours: () => oursHammer(count, reps) }, py('hammer', ['--count', count, '--reps', reps])), rounds, log);
    rows.push({
      metric: '4 processes hammering one dict (set+get each, awaited)', unit: 'ops/s', better: 'higher',
      ours: statOf(samples.ours, 'higher'), anchors: pyAnchors(samples, 'higher', '4 forked processes'),
      note: 'total ops over the window from the first worker start to the last worker end; our spawned workers warm up (3000 pairs) first',
    });
  }

  // ---- connections
  {
    const count = quick ? 100 : 300;
    log(`  connect/create: ${rounds} rounds × ${count}`);
    const { samples } = await interleave(variantsWith({ ours: () => oursConnect(count) }, py('connect', ['--count', Math.ceil(count / 3), '--reps', 3])), rounds, log);
    rows.push({
      metric: 'Client(address, { authkey }) to a Listener (TCP, mutual HMAC handshake)', unit: 'ms', better: 'lower',
      ours: statOf(samples.ours, 'lower'), anchors: pyAnchors(samples, 'lower', 'Client(address, authkey)'),
      target: { anchor: 'py multiprocessing Client(address, authkey)', maxRatio: 0.5, label: '≤ 0.5× Python' },
    });
    const created = await interleave(variantsWith({ ours: () => oursCreate(count) }, py('create', ['--count', Math.ceil(count / 3), '--reps', 3])), rounds, log);
    rows.push({
      metric: 'manager.list(): a new proxy', unit: 'ms', better: 'lower',
      ours: statOf(created.samples.ours, 'lower'), anchors: pyAnchors(created.samples, 'lower', 'm.list()'),
      target: { anchor: 'py multiprocessing m.list()', maxRatio: 0.5, label: '≤ 0.5× Python' },
      note: 'Python opens new authenticated connections per proxy (create, incref); ours reuses the process\'s one connection.',
    });
  }
  return rows;
}
