/**
 * A Pool with a context of its own (seed: SuperFastPython pool-context
 * tutorial, "Configure the Process Pool Context").
 *
 * The program's default start method is 'spawn'; the pool's workers come from
 * a 'forkserver' context (Python's example uses 'fork').
 *
 *   npx tsx examples/pool-context.ts
 */
import { Pool, getContext, getStartMethod, isMainProcess } from 'billiard';

/** Runs in a worker process. */
export function task(): void {
  const method = getStartMethod();
  console.log(`Worker using ${method}`);
}

if (isMainProcess()) {
  const method = getStartMethod();
  console.log(`Main process using ${method}`);
  const ctx = getContext('forkserver');
  await using pool = new Pool({ context: ctx }); // or: new ctx.Pool()
  pool.applyAsync(task);
  pool.close();
  await pool.join();
}
