// Parent death: the main process is SIGKILLed while it has Process children, Pool workers,
// forkserver warm processes, a Manager and thread children (and shared memory, a Queue,
// a Lock): within 1 s no process of the tree remains and nothing it made remains in /dev/shm.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SHORT, TASKS, scenario, onAbort, descendantsOf, alive, shmExists, shmList, startTimeOf, treeSegments, until } from './lib.js';

const VICTIM = process.argv.includes('--victim');

if (VICTIM) {
  const b = await import('billiard');
  const { sleepy } = await import('./tasks.js');
  const modules = [TASKS];
  const kids = [new b.Process({ target: sleepy, args: [1e9], modules }), new b.Process({ target: sleepy, args: [1e9], modules, daemon: true })];
  for (const k of kids) k.start();
  const pool = new b.Pool({ processes: 2, modules });
  await pool.map(sleepy, [1, 1, 1, 1]);
  const pending = pool.apply(sleepy, [1e9]);
  pending.catch(() => {});
  const fs = b.getContext('forkserver');
  const fk = new fs.Process({ target: sleepy, args: [1e9], modules });
  fk.start();
  const th = b.getContext('thread');
  const tk = new th.Process({ target: sleepy, args: [1e9], modules });
  tk.start();
  const mgr = await b.Manager();
  const d = await mgr.dict();
  await d.set('k', 1);
  const shm = new b.SharedMemory({ create: true, size: 1 << 20 });
  const q = new b.Queue();
  await q.put('x');
  const lock = new b.Lock();
  await lock.acquire();
  const arr = b.SharedArray('d', 1000);
  arr.set(0, 1);
  process.stdout.write(`READY ${shm.name}\n`);
  setInterval(() => {}, 1 << 30);
} else {
  const REPS = SHORT ? 2 : 5;
  await scenario('parent-death', 30_000 * REPS, async () => {
    const notes = [];
    let survivors = 0, shmLeft = 0, worstMs = 0, treeSizes = [];
    for (let rep = 0; rep < REPS; rep++) {
      const before = shmList();
      const cp = spawn(process.execPath, [fileURLToPath(import.meta.url), '--victim'], { stdio: ['ignore', 'pipe', 'inherit'] });
      onAbort(() => { try { process.kill(cp.pid, 'SIGKILL'); } catch {} for (const p of descendantsOf(cp.pid)) try { process.kill(p, 'SIGKILL'); } catch {} });
      const exited = new Promise((r) => cp.once('exit', r));
      let out = '';
      await new Promise((resolve, reject) => {
        cp.stdout.setEncoding('utf8').on('data', (s) => { out += s; if (out.includes('\n')) resolve(); });
        cp.once('exit', () => reject(new Error(`victim exited before READY: ${out}`)));
      });
      const tree = descendantsOf(cp.pid);
      treeSizes.push(tree.length);
      // What the victim's tree made (its registry logs, and its heap's names), not whatever else
      // the machine creates meanwhile.
      const made = [...treeSegments(cp.pid, startTimeOf(cp.pid))];
      for (const n of shmList()) if (!before.has(n) && n.startsWith(`bl${cp.pid}_`) && !made.includes(n)) made.push(n);
      const t0 = Date.now();
      cp.kill('SIGKILL');
      await exited;
      const goneTree = await until(() => tree.every((p) => !alive(p)), 1000, 5);
      const goneShm = await until(() => !made.some(shmExists), Math.max(0, 1000 - (Date.now() - t0)), 5);
      const ms = Date.now() - t0;
      worstMs = Math.max(worstMs, ms);
      const left = tree.filter(alive);
      const shmRemain = made.filter(shmExists);
      if (!goneTree) { survivors += left.length; notes.push(`rep ${rep}: alive 1 s after the kill: ${left.join(',')}`); }
      if (!goneShm) { shmLeft += shmRemain.length; notes.push(`rep ${rep}: /dev/shm left: ${shmRemain.join(',')}`); }
      notes.push(`rep ${rep}: tree ${tree.length} processes, ${made.length} shm entries, cleaned in ${ms} ms`);
      for (const p of left) try { process.kill(p, 'SIGKILL'); } catch {}
    }
    return { ok: survivors === 0 && shmLeft === 0, notes, figures: { reps: REPS, treeSizes, survivors, shmLeft, worstCleanupMs: worstMs } };
  });
}
