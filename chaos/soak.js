// Soak: mixed Pool, Queue, Lock and Manager traffic for 10 minutes (--short: 30 s; --seconds=N).
// Memory of every process stays flat, no fd or /dev/shm segment leak.
//
// Every process of the tree is sampled: RSS and fd count from /proc (all of them), and the JS heap
// right after a full GC (heapUsed is then the live set, not GC timing) from the main process, the
// pool workers and the peer (which report themselves on a queue) and the manager (through a
// registered Probe object). Slopes are least-squares fits in MB/min over the samples after a
// warm-up (the first 20% of the run): RSS fills up for a while as V8 and the allocator size
// themselves, so a slope over the whole run says little. A clear leak fails the scenario: a live
// heap or (full run only) non-heap RSS slope over its bound, fds of any process or segments in
// /dev/shm growing after the warm-up, manager objects not released, a process warning (such as
// MaxListenersExceeded), or a lock count that does not add up.
import * as b from 'billiard';
import { readFileSync } from 'node:fs';
import { SHORT, TASKS, scenario, descendantsOf, rssKb, fdCount, shmList, slope, leftoverChildren } from './lib.js';
import { echo, work } from './tasks.js';
import { Probe, peer, probe, startReporter } from './soak-tasks.js';

const secArg = process.argv.find((a) => a.startsWith('--seconds='));
const SECONDS = secArg ? Number(secArg.slice(10)) : SHORT ? 30 : 600;
const WARMUP = 0.2;
const SOAK_TASKS = new URL('./soak-tasks.js', import.meta.url).href;
const modules = [TASKS, SOAK_TASKS];
// ≈ 120 samples a run, at most 2 a second (each costs a full GC in every reporting process).
const INTERVAL = Math.max(500, Math.round(SECONDS * 1000 / 120));
// Bounds in MB/min after the warm-up, with margin over healthy runs (see README, Reliability);
// a leak of one byte per operation would already be ≥ 5 MB/min at these rates. RSS takes the
// first minutes to settle (V8 and malloc sizing themselves), so only a long run judges it; the
// live heap settles within seconds.
const LIMIT = SECONDS >= 300 ? { heap: 0.5, rss: 2 } : { heap: 3, rss: null };
// Segments in use may step up by one after the warm-up (a shared-heap arena growing); a leak
// of one per churned queue or pool would be tens.
const SHM_STEP = 1;
const tick = () => new Promise(setImmediate);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

class SoakManager extends b.SyncManager {}
SoakManager.register('Probe', Probe);

/** RSS split (KB): anonymous, file-backed, shared memory; and how many /dev/shm mappings the process has. */
function memParts(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? -1);
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
    return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'), shmMaps: maps.filter((l) => l.includes('/dev/shm/')).length, maps: maps.length };
  } catch { return null; }
}
const cmdline = (pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; } };

// Segments of this process tree (the machine's /dev/shm may hold other programs' segments too);
// every segment billiard makes is named after the tree's root, set when billiard loads.
const TREE_ROOT = (process.env.BILLIARD_TREE ?? `${process.pid}:`).split(':')[0];
const ours = () => [...shmList()].filter((n) => n.startsWith(`bl${TREE_ROOT}_`));

await scenario('soak', (SECONDS + 90) * 1000, async () => {
  const fd0 = fdCount();
  const reports = new b.Queue();
  const pool = new b.Pool({ processes: 2, modules, initializer: startReporter, initargs: [reports, 'pool worker', INTERVAL] });
  const toPeer = new b.Queue(100), fromPeer = new b.Queue(100);
  const lock = new b.Lock();
  const counter = b.Value('i', 0);
  const peerProc = new b.Process({ target: peer, args: [toPeer, fromPeer, lock, counter, reports, INTERVAL], modules });
  peerProc.start();
  const mgr = new SoakManager({ modules });
  await mgr.start();
  const mgrProbe = await mgr.Probe();
  const d = await mgr.dict();

  const ops = { poolTasks: 0, queueItems: 0, lockAcquires: 0, dictOps: 0, edges: 0, churnQueues: 0, churnPools: 0 };
  let running = true, peerLocks = -1;
  const loops = [
    // Pool: chunked maps of 4 ms tasks; beside them, applies as fast as they go: one with a 1 KB
    // argument, then 16 at once of an inline function (sent by source, a new object every time).
    (async () => { while (running) { await pool.map(work, [1, 2, 3, 4, 5, 6, 7, 8], 2); ops.poolTasks += 8; await tick(); } })(),
    (async () => {
      while (running) {
        await pool.apply(echo, [{ a: [1, 2, 3], s: 'x'.repeat(1000) }]);
        const lens = await Promise.all(Array.from({ length: 16 }, () => pool.apply((o) => o.a.length, [{ a: [1, 2, 3] }])));
        if (lens.some((n) => n !== 3)) throw new Error('inline task result');
        ops.poolTasks += 17;
        await tick();
      }
    })(),
    // Queue: main → peer → main, 2 KB items, both queues bounded; then the sentinel. (A peer that
    // stops answering for 30 s is a failure, not a hang.)
    (async () => { let i = 0; while (running) { await toPeer.put({ i: i++, pad: Buffer.alloc(2048) }, { timeout: 30_000 }); } await toPeer.put(null, { timeout: 30_000 }); })(),
    (async () => {
      let next = 0;
      for (;;) {
        const item = await fromPeer.get({ timeout: 30_000 });
        if (item.done) { peerLocks = item.locks; return; }
        if (item.i !== next++) throw new Error(`queue order: got ${item.i}, expected ${next - 1}`);
        ops.queueItems++;
      }
    })(),
    // Lock: contended with the peer, guarding a shared counter.
    (async () => { while (running) { await lock.acquire(); counter.value += 1; lock.release(); ops.lockAcquires++; await tick(); } })(),
    // Manager: a dict's set and get.
    (async () => { let i = 0; while (running) { await d.set(`k${i % 100}`, i); await d.get(`k${(i + 50) % 100}`, null); i++; ops.dictOps += 2; await tick(); } })(),
    // Edges, at a slower pace: timeouts, aborts, imap and manager objects made and released,
    // the paths that set timers, listeners and per-call state and must take them down again.
    (async () => {
      const held = new b.Lock();
      await held.acquire();
      const empty = new b.Queue();
      try {
        let i = 0;
        while (running) {
          if (await held.acquire({ timeout: 2 })) throw new Error('acquired a held lock');
          await empty.get({ timeout: 2 }).then(() => { throw new Error('got from an empty queue'); }, (e) => { if (!(e instanceof b.Empty)) throw e; });
          let n = 0;
          for await (const x of pool.imapUnordered(work, [1, 2, 3, 4], 1)) n += x;
          if (n !== 20) throw new Error(`imapUnordered sum ${n}`);
          await pool.apply(echo, [i], { timeout: 30_000, softTimeout: 20_000 });
          await pool.apply(echo, [i], { signal: new AbortController().signal });
          const l = await mgr.list([i]);
          await l.append(i + 1);
          if ((await l.len()) !== 2) throw new Error('list length');
          l.release();
          ops.edges++;
          i++;
          await sleep(10);
        }
      } finally {
        empty.close();
        held.release();
      }
    })(),
    // Churn: short-lived queues (segments made and freed all along) and pools (processes, fds).
    !process.argv.includes('--no-churn') && (async () => { while (running) { const qq = new b.Queue(); await qq.put(1); await qq.get(); qq.close(); ops.churnQueues++; await sleep(50); } })(),
    !process.argv.includes('--no-churn') && (async () => {
      while (running) {
        await sleep(5000);
        if (!running) break;
        const p = new b.Pool({ processes: 1, modules });
        try { await p.apply(echo, [1]); } finally { await p.terminate(); }
        ops.churnPools++;
      }
    })(),
  ].filter(Boolean);
  const failures = [];
  const warnings = []; // MaxListenersExceededWarning and the like: listeners piling up
  process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));
  for (const l of loops) l.catch((e) => { failures.push(`${e.constructor.name}: ${e.message}`); running = false; });

  // Samples: pid → { role, t[], rss[], fd[] } from /proc, and pid → { t[], heap[], rss[] } self-reported after a GC.
  const procs = new Map(), heaps = new Map(), shm = [];
  const roles = new Map([[process.pid, 'main'], [peerProc.pid, 'peer'], [mgr.process.pid, 'manager']]);
  const roleOf = (pid) => roles.get(pid) ?? (pool.workerPids().includes(pid) ? 'pool worker'
    : cmdline(pid).includes('resource-tracker-reaper') ? 'resource tracker reaper' : 'other');
  const t0 = Date.now();
  const minutes = (ms) => (ms - t0) / 60_000;
  const addHeap = (r) => {
    if (!heaps.has(r.pid)) heaps.set(r.pid, { role: r.role, t: [], heap: [], total: [], ext: [], rss: [] });
    const h = heaps.get(r.pid); h.t.push(minutes(r.t)); h.heap.push(r.heapUsed / MB); h.total.push(r.heapTotal / MB); h.ext.push(r.external / MB); h.rss.push(r.rss / MB);
  };
  const sample = async () => {
    const now = Date.now();
    shm.push({ t: minutes(now), n: ours().length });
    for (const pid of [process.pid, ...descendantsOf(process.pid)]) {
      const rss = rssKb(pid), fd = fdCount(pid), parts = memParts(pid);
      if (rss < 0 || fd < 0 || !parts) continue;
      if (!procs.has(pid)) procs.set(pid, { role: roleOf(pid), t: [], rss: [], fd: [], parts: [] });
      const s = procs.get(pid); s.t.push(minutes(now)); s.rss.push(rss / 1024); s.fd.push(fd); s.parts.push(parts);
    }
    addHeap({ role: 'main', ...probe() });
    addHeap(await mgrProbe.memory());
    for (;;) { try { addHeap(reports.getNowait()); } catch { break; } }
  };
  while (running && Date.now() - t0 < SECONDS * 1000) {
    await sleep(INTERVAL);
    await sample();
  }
  running = false;
  const tEnd = minutes(Date.now());
  await Promise.allSettled(loops);
  await peerProc.join(10_000);
  const lockCount = counter.value;
  const lockOk = peerLocks >= 0 && lockCount === ops.lockAcquires + peerLocks;

  // Per process, over the samples after the warm-up. Counts (fds, segments) compare the least
  // value of the last quarter with that of the first quarter after the warm-up: churn makes
  // short-lived ones at any moment, a leak raises the floor.
  const warm = tEnd * WARMUP;
  const after = (ts) => ts.findIndex((t) => t >= warm);
  const floorGrowth = (xs) => {
    const q = Math.max(1, Math.floor(xs.length / 4));
    return Math.min(...xs.slice(-q)) - Math.min(...xs.slice(0, q));
  };
  const per = [];
  for (const [pid, s] of procs) {
    const from = after(s.t);
    if (from < 0 || s.t.length - from < 8) continue; // short-lived (churn pools)
    const h = heaps.get(pid);
    const hf = h ? after(h.t) : -1;
    const heap = h && hf >= 0 && h.t.length - hf >= 8 ? h : null;
    const ht = heap?.t.slice(hf);
    per.push({
      pid, role: s.role, samples: s.t.length,
      rssMB: [round(s.rss[from], 1), round(s.rss.at(-1), 1)],
      // RSS at 0%, 10%, … 100% of the run: the warm-up's shape
      rssByTenth: Array.from({ length: 11 }, (_, k) => { const i = s.t.findIndex((t) => t >= tEnd * k / 10); return round(s.rss[i < 0 ? s.t.length - 1 : i], 0); }),
      rssSlope: round(slope(s.t.slice(from), s.rss.slice(from))),
      heapMB: heap ? [round(heap.heap[hf]), round(heap.heap.at(-1))] : null,
      heapSlope: heap ? round(slope(ht, heap.heap.slice(hf)), 3) : null,
      heapTotalMB: heap ? [round(heap.total[hf], 1), round(heap.total.at(-1), 1)] : null,
      // RSS outside the V8 heap's reserved size: native memory, other isolates (waiter threads), code.
      // V8 growing its young generation (a one-time step of up to ≈ 16 MB) does not count here.
      nonHeapMB: heap ? [round(heap.rss[hf] - heap.total[hf], 1), round(heap.rss.at(-1) - heap.total.at(-1), 1)] : null,
      nonHeapSlope: heap ? round(slope(ht, heap.rss.slice(hf).map((r, i) => r - heap.total[hf + i]))) : null,
      externalMB: heap ? [round(heap.ext[hf], 1), round(heap.ext.at(-1), 1)] : null,
      rssKB: { from: s.parts[from], end: s.parts.at(-1) },
      fd: [s.fd[0], s.fd[from], s.fd.at(-1)],
      fdGrowth: floorGrowth(s.fd.slice(from)),
    });
  }
  const shmFrom = after(shm.map((x) => x.t));
  const shmAfterWarm = shm.slice(shmFrom).map((x) => x.n);
  const shmGrowth = floorGrowth(shmAfterWarm);
  const mgrObjects = (await mgr.info()).objects; // the dict and the Probe: the edges' lists were released

  toPeer.close(); fromPeer.close(); reports.close();
  await pool.terminate();
  await mgr.shutdown();
  const fdAfter = fdCount();
  const left = leftoverChildren();
  const notes = [...failures];
  const over = (p) => (p.heapSlope ?? 0) > LIMIT.heap || (LIMIT.rss !== null && (p.nonHeapSlope ?? p.rssSlope) > LIMIT.rss) || p.fdGrowth > 0;
  for (const p of per) if (over(p)) notes.push(`leak? ${p.role} ${p.pid}: ${JSON.stringify(p)}`);
  if (!lockOk) notes.push(`lock count ${lockCount} ≠ main ${ops.lockAcquires} + peer ${peerLocks}`);
  if (shmGrowth > SHM_STEP) notes.push(`/dev/shm: ${shmGrowth} more segments in use after the warm-up`);
  if (mgrObjects > 2) notes.push(`manager holds ${mgrObjects} objects, expected 2`);
  if (left.length) notes.push(`children left: ${JSON.stringify(left)}`);
  for (const w of new Set(warnings)) notes.push(`warning: ${w}`);
  const expected = ['main', 'peer', 'manager', 'pool worker'];
  const missing = expected.filter((r) => !per.some((p) => p.role === r && p.heapSlope !== null));
  if (missing.length) notes.push(`no heap samples from: ${missing.join(', ')}`);
  notes.push(`per process: ${JSON.stringify(per)}`);
  const total = Object.values(ops).reduce((a, x) => a + x, 0) + peerLocks + ops.queueItems; // the peer's gets and puts too
  const worst = (k) => round(Math.max(...per.filter((p) => p[k] !== null).map((p) => p[k])), 3);
  const ok = failures.length === 0 && !per.some(over) && lockOk && shmGrowth <= SHM_STEP && mgrObjects <= 2 && warnings.length === 0 && left.length === 0 && missing.length === 0;
  return {
    ok, notes, figures: {
      seconds: SECONDS, warmupSeconds: Math.round(warm * 60), ops: total, opsByKind: { ...ops, peerLocks }, lockCount,
      processes: per.length, worstHeapSlopeMBmin: worst('heapSlope'), worstNonHeapSlopeMBmin: worst('nonHeapSlope'), worstRssSlopeMBmin: worst('rssSlope'),
      limitsMBmin: LIMIT, worstFdGrowth: Math.max(...per.map((p) => p.fdGrowth)), managerObjects: mgrObjects,
      // main's fds after everything was shut down, against before it started (the waiter thread, the tracker's pipe stay)
      mainFd: { before: fd0, after: fdAfter },
      shm: { afterWarmup: shmAfterWarm[0], atEnd: shmAfterWarm.at(-1), max: Math.max(...shmAfterWarm), growth: shmGrowth, leftAfterShutdown: ours().length },
    },
  };
});
