// terminate() under load: repeated terminate() with tasks in flight, queued and half-sent
// (a large argument still being written): zero hangs, every promise settled, no child left.
import { Pool, Terminated } from 'billiard';
import { SHORT, TASKS, scenario, leftoverChildren, rand, until } from './lib.js';
import { sleepy, echo, work } from './tasks.js';

const REPS = SHORT ? 30 : 200;
const HANG_MS = 10_000;

const withTimeout = (p, ms) => {
  let t;
  return Promise.race([p.then(() => 'done', () => 'done'), new Promise((r) => { t = setTimeout(() => r('hang'), ms); })])
    .finally(() => clearTimeout(t));
};

await scenario('terminate', SHORT ? 60_000 : 400_000, async () => {
  const notes = [];
  let hangs = 0, unsettled = 0, childrenLeftNow = 0, childrenLeft1s = 0, promises = 0, terminatedErrors = 0, otherErrors = 0;
  const big = Buffer.alloc(16 << 20, 1);
  const started = Date.now();
  for (let rep = 0; rep < REPS; rep++) {
    const pool = new Pool({ processes: 2, modules: [TASKS] });
    const ps = [];
    // Settle records are attached at once (an unobserved rejection would be an unhandled one).
    const track = (p) => { const r = p.then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason })); r.done = false; r.then(() => { r.done = true; }); return r; };
    ps.push(track(pool.apply(sleepy, [5000])));                       // in flight
    ps.push(track(pool.apply(sleepy, [5000])));
    for (let i = 0; i < 20; i++) ps.push(track(pool.apply(work, [i, 1]))); // queued
    ps.push(track(pool.apply(echo, [big])));                          // half-sent
    ps.push(track(pool.map(work, Array.from({ length: 50 }, (_, i) => i), 5)));
    const it = pool.imap(work, Array.from({ length: 50 }, (_, i) => i), 3);
    ps.push(track((async () => { for await (const _ of it); })()));
    const ar = pool.applyAsync(sleepy, [5000]);
    ps.push(track(ar.get()));
    promises += ps.length;
    // Terminate at a random moment: before the workers are up, while they boot, or mid-work.
    const wait = rep % 4 === 0 ? 0 : rand(1, 300);
    if (wait) await new Promise((r) => setTimeout(r, wait));
    const t = await withTimeout(pool.terminate(), HANG_MS);
    if (t === 'hang') { hangs++; notes.push(`rep ${rep}: terminate() did not resolve in ${HANG_MS} ms`); continue; }
    const s = await withTimeout(Promise.allSettled(ps), HANG_MS);
    if (s === 'hang') {
      const n = ps.filter((p) => !p.done).length;
      unsettled += n;
      notes.push(`rep ${rep}: ${n} promises unsettled after terminate()`);
    } else {
      for (const r of await Promise.all(ps)) {
        if (r.status === 'rejected') { if (r.reason instanceof Terminated) terminatedErrors++; else { otherErrors++; if (otherErrors < 4) notes.push(`rep ${rep}: ${r.reason?.constructor?.name}: ${r.reason?.message}`); } }
      }
    }
    const now = leftoverChildren();
    if (now.length) {
      childrenLeftNow++;
      if (!(await until(() => leftoverChildren().length === 0, 1000))) {
        childrenLeft1s++;
        notes.push(`rep ${rep}: children left 1 s after terminate(): ${JSON.stringify(leftoverChildren())}`);
      }
    }
  }
  const ok = hangs === 0 && unsettled === 0 && childrenLeft1s === 0 && otherErrors === 0;
  return {
    ok, notes: notes.slice(0, 10),
    figures: { reps: REPS, promises, hangs, unsettled, terminatedErrors, otherErrors,
      repsWithChildAtResolve: childrenLeftNow, repsWithChildAfter1s: childrenLeft1s, seconds: (Date.now() - started) / 1000 },
  };
});
