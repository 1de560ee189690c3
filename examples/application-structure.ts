/**
 * Application structure (seed: billiard docs, "Context Best Practices").
 *
 * Set the start method once, early; take the context; use it for every object
 * (queue, processes) of the program.
 *
 *   npx tsx examples/application-structure.ts
 */
import { getContext, isMainProcess, setStartMethod, type Process, type Queue } from 'billiard';

/** Runs in each child. */
export async function worker(queue: Queue<string>, workerId: number): Promise<void> {
  await queue.put(`Result from worker ${workerId}`);
}

async function main(): Promise<void> {
  // Set the start method early in the program ('spawn', 'forkserver' or 'thread').
  setStartMethod('spawn');

  // The context for this program's needs (here: the default one, now 'spawn').
  const ctx = getContext();

  // Use the context consistently.
  const queue = new ctx.Queue<string>();
  const processes: Process[] = [];
  for (let i = 0; i < 4; i++) {
    const p = new ctx.Process({ target: worker, args: [queue, i] });
    processes.push(p);
    p.start();
  }
  for (const p of processes) await p.join();

  const results: string[] = [];
  for (let i = 0; i < 4; i++) results.push(await queue.get());
  console.log(results.sort().join('\n'));
  console.log(`${results.length} results with start method ${ctx.getStartMethod()}`);
  queue.close();
}

if (isMainProcess()) {
  await main();
}
