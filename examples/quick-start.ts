/**
 * Quick start (seed: billiard quick-start): processes that send results back
 * on a queue, then a pool that squares numbers.
 *
 *   npx tsx examples/quick-start.ts
 */
import { Pool, Process, Queue, isMainProcess } from 'billiard';

/** Runs in each process: put a greeting on the result queue. */
export async function workerTask(name: string, resultQueue: Queue<string>): Promise<void> {
  const result = `Hello from ${name}`;
  await resultQueue.put(result);
}

/** Runs in the pool's workers. */
export function square(x: number): number {
  return x * x;
}

if (isMainProcess()) {
  // A queue for results.
  const queue = new Queue<string>();

  // Create and start processes.
  const processes: Process[] = [];
  for (let i = 0; i < 3; i++) {
    const p = new Process({ target: workerTask, args: [`worker-${i}`, queue] });
    p.start();
    processes.push(p);
  }

  // Collect results, then wait for completion.
  const results: string[] = [];
  for (const _ of processes) results.push(await queue.get());
  for (const p of processes) await p.join();
  console.log('Results:', results.sort());
  queue.close();

  // A process pool for parallel execution.
  {
    await using pool = new Pool({ processes: 4 });
    const numbers = [1, 2, 3, 4, 5];
    const squared = await pool.map(square, numbers);
    console.log('Squared:', squared);
  }
}
