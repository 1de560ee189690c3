// Workers killed at random: a Pool of 4 maps N tasks while a killer SIGKILLs a random
// worker every 50–200 ms. Every job settles once (value or WorkerLostError), the pool
// ends with 4 healthy workers, and imap over the same work ends.
import { Pool, WorkerLostError } from 'billiard';
import { SHORT, TASKS, scenario, leftoverChildren, rand, until, alive } from './lib.js';
import { work, pid as pidTask } from './tasks.js';

const N = SHORT ? 1000 : 10_000;
const PROCS = 4;

await scenario('pool-kill', SHORT ? 40_000 : 240_000, async () => {
  const notes = [];
  const pool = new Pool({ processes: PROCS, modules: [TASKS], maxRestarts: 1e9, maxRestartFreq: 1 });
  let kills = 0;
  let killing = true;
  let killerTimer;
  const killer = () => {
    if (!killing) return;
    const pids = pool.workerPids();
    if (pids.length) {
      try { process.kill(pids[rand(0, pids.length - 1)], 'SIGKILL'); kills++; } catch {}
    }
    killerTimer = setTimeout(killer, rand(50, 200));
  };

  // Phase 1: N applyAsync jobs, each counted through its callbacks.
  const settled = new Int32Array(N);
  let values = 0, lost = 0, wrong = 0, other = 0;
  const otherErrors = new Set();
  killer();
  const results = [];
  for (let i = 0; i < N; i++) {
    results.push(pool.applyAsync(work, [i], {
      callback: (v) => { settled[i]++; if (v === i * 2) values++; else wrong++; },
      errorCallback: (e) => {
        settled[i]++;
        if (e instanceof WorkerLostError) lost++; else { other++; otherErrors.add(`${e?.constructor?.name}: ${e?.message}`); }
      },
    }));
  }
  await Promise.allSettled(results.map((r) => r.wait()));
  let twice = 0, never = 0;
  for (const c of settled) { if (c === 0) never++; if (c > 1) twice++; }

  // Phase 2: imap over the same work ends (failures are yielded as thrown items).
  const M = SHORT ? 200 : 2000;
  let imapItems = 0, imapLost = 0, imapOther = 0;
  const it = pool.imap(work, Array.from({ length: M }, (_, i) => i), 8);
  for (;;) {
    try {
      const r = await it.next();
      if (r.done) break;
      imapItems++;
    } catch (e) {
      if (e instanceof WorkerLostError) imapLost++; else { imapOther++; otherErrors.add(`imap ${e?.constructor?.name}: ${e?.message}`); }
      imapItems++;
    }
  }
  killing = false;
  clearTimeout(killerTimer);

  // The pool ends with PROCS healthy workers: PROCS live pids, and each answers a task.
  const healthyWait = await until(() => pool.workerPids().filter(alive).length === PROCS, 5000);
  const probe = await Promise.all(Array.from({ length: PROCS * 4 }, () => pool.apply(pidTask)));
  const workers = pool.workerPids();
  const probeOk = probe.every((p) => workers.includes(p));
  pool.close();
  await pool.join();
  const leftover = leftoverChildren();

  const ok = never === 0 && twice === 0 && wrong === 0 && other === 0 && healthyWait && workers.length === PROCS
    && probeOk && imapItems === M && imapOther === 0 && leftover.length === 0;
  if (leftover.length) notes.push(`children left: ${JSON.stringify(leftover)}`);
  if (otherErrors.size) notes.push(`unexpected errors: ${[...otherErrors].slice(0, 5).join(' | ')}`);
  return {
    ok, notes,
    figures: { jobs: N, settled: N - never, twice, values, workerLost: lost, otherErrors: other, wrong, kills,
      imapItems, imapLost, healthyWorkers: workers.length, childrenLeft: leftover.length },
  };
});
