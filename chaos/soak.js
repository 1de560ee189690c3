// Soak: mixed Pool, Queue, Lock and Manager traffic for 10 minutes (--short: 30 s).
// Memory of every process stays flat (slope reported), no fd or /dev/shm segment leak.
import * as b from 'billiard';
import { SHORT, TASKS, scenario, descendantsOf, rssKb, fdCount, shmList, slope, leftoverChildren } from './lib.js';
import { echo, work } from './tasks.js';

const secArg = process.argv.find((a) => a.startsWith('--seconds='));
const SECONDS = secArg ? Number(secArg.slice(10)) : SHORT ? 30 : 600;
const modules = [TASKS];
// Queue and Lock operations that need not wait settle as microtasks: yield to the event loop.
const tick = () => new Promise(setImmediate);

await scenario('soak', (SECONDS + 60) * 1000, async () => {
  const shm0 = shmList();
  const fd0 = fdCount();
  const pool = new b.Pool({ processes: 2, modules });
  const q = new b.Queue(100);
  const lock = new b.Lock();
  const mgr = await b.Manager();
  const d = await mgr.dict();
  const counter = b.Value('i', 0);
  let ops = 0, running = true;
  const loops = [
    (async () => { while (running) { await pool.map(work, [1, 2, 3, 4, 5, 6, 7, 8], 2); await pool.apply(echo, [{ a: [1, 2, 3], s: 'x'.repeat(1000) }]); ops += 2; await tick(); } })(),
    (async () => { let i = 0; while (running) { await q.put({ i, pad: Buffer.alloc(2048) }); await q.get(); i++; ops++; await tick(); } })(),
    (async () => { while (running) { await lock.acquire(); counter.value += 1; lock.release(); ops++; await tick(); } })(),
    (async () => { let i = 0; while (running) { await d.set(`k${i % 100}`, i); await d.get(`k${(i + 50) % 100}`, null); i++; ops += 2; await tick(); } })(),
    // churn: short-lived queues and pools, so segments and fds are made and freed all along
    !process.argv.includes('--no-churn') && (async () => { while (running) { const qq = new b.Queue(); await qq.put(1); await qq.get(); qq.close(); ops++; await new Promise((r) => setTimeout(r, 50)); } })(),
  ];
  const failures = [];
  loops.splice(0, loops.length, ...loops.filter(Boolean));
  for (const l of loops) l.catch((e) => { failures.push(`${e.constructor.name}: ${e.message}`); running = false; });

  // Sample every process of the tree: RSS and fd count.
  const samples = new Map();   // pid → { t: [], rss: [], fd: [] }
  const shmCounts = [];
  const t0 = Date.now();
  const sample = () => {
    const t = (Date.now() - t0) / 60_000;
    shmCounts.push(shmList().size);
    for (const pid of [process.pid, ...descendantsOf(process.pid)]) {
      const rss = rssKb(pid), fd = fdCount(pid);
      if (rss < 0) continue;
      if (!samples.has(pid)) samples.set(pid, { t: [], rss: [], fd: [] });
      const s = samples.get(pid); s.t.push(t); s.rss.push(rss); s.fd.push(fd);
    }
  };
  const interval = Math.max(250, SECONDS * 1000 / 120);
  await new Promise((resolve) => {
    const timer = setInterval(() => { sample(); if (!running || Date.now() - t0 >= SECONDS * 1000) { clearInterval(timer); resolve(); } }, interval);
  });
  running = false;
  await Promise.allSettled(loops);
  // Slopes after a warm-up (first third of the run is excluded), in KB/min; fd growth too.
  const per = [];
  for (const [pid, s] of samples) {
    const from = Math.floor(s.t.length / 3);
    if (s.t.length - from < 5) continue;
    const rssSlope = slope(s.t.slice(from), s.rss.slice(from));
    const fdGrowth = s.fd[s.fd.length - 1] - s.fd[from];
    per.push({ pid, samples: s.t.length, rssStartKb: s.rss[from], rssEndKb: s.rss[s.rss.length - 1], slopeKbPerMin: Math.round(rssSlope), fdGrowth });
  }
  const lockCount = counter.value;
  q.close();
  await pool.terminate();
  await mgr.shutdown();
  // Segments in use must not grow after warm-up (what remains at exit is checked by run.js).
  const from = Math.floor(shmCounts.length / 3);
  const shmGrowth = shmCounts.length ? Math.max(...shmCounts.slice(from)) - shmCounts[from] : 0;
  const shmLeft = [];
  const fdLeak = fdCount() - fd0;
  const left = leftoverChildren();
  const worstSlope = Math.max(...per.map((p) => p.slopeKbPerMin));
  const worstFd = Math.max(...per.map((p) => p.fdGrowth));
  // Flat: under 2 MB/min after warm-up in the short form (GC noise dominates 30 s), 512 KB/min over 10 min.
  const limit = SECONDS >= 300 ? 512 : 2048;
  const notes = [...failures];
  if (shmLeft.length) notes.push(`/dev/shm left: ${shmLeft.join(',')}`);
  if (left.length) notes.push(`children left: ${JSON.stringify(left)}`);
  notes.push(`per process: ${JSON.stringify(per)}`);
  const ok = failures.length === 0 && worstSlope < limit && worstFd <= 2 && shmGrowth <= 2 && fdLeak <= 2 && left.length === 0;
  return { ok, notes, figures: { seconds: SECONDS, ops, lockCount, processes: per.length, worstSlopeKbPerMin: worstSlope, slopeLimitKbPerMin: limit, worstFdGrowth: worstFd, mainFdDelta: fdLeak, shmGrowth, shmInUseAtEnd: [...shmList()].filter((n) => !shm0.has(n)).length } };
});
