/**
 * The start method of a Pool's workers, by default (seed: SuperFastPython
 * pool-context tutorial, "Check the Process Pool Default Start Method").
 *
 *   npx tsx examples/pool-default-context.ts
 */
import { Pool, getStartMethod, isMainProcess } from 'billiard';

/** Runs in a worker process. */
export function task(): void {
  const method = getStartMethod();
  console.log(`Worker using ${method}`);
}

if (isMainProcess()) {
  const method = getStartMethod();
  console.log(`Main process using ${method}`);
  // Python: `with Pool() as pool:` — terminated when the scope ends.
  await using pool = new Pool();
  pool.applyAsync(task); // issue the task, do not wait for it
  pool.close();          // no more tasks
  await pool.join();     // wait for all tasks to complete
}
