/**
 * Start methods side by side (seed: billiard docs, "Start Methods" usage example,
 * start_method_comparison).
 *
 * The parent runs threads of its own (worker_threads here), then starts one
 * child with every available start method. A 'thread' child is a thread of
 * this very process (same pid); 'spawn' and 'forkserver' children are
 * processes of their own.
 *
 *   npx tsx examples/start-method-comparison.ts
 */
import { Worker, isMainThread } from 'node:worker_threads';
import { getAllStartMethods, getContext, isMainProcess } from 'billiard';

/** Runs in the child. */
export function childProcessWork(methodName: string): void {
  console.log(`Child process (${methodName}): PID ${process.pid}, PPID ${process.ppid}, main thread: ${isMainThread}`);
}

/** Three threads in the parent, each sleeping 100 ms (Python's threaded_parent_worker). */
async function threadedParentWorker(): Promise<void> {
  const threads = [0, 1, 2].map((i) => new Promise<void>((resolve, reject) => {
    const t = new Worker(`setTimeout(() => require('node:worker_threads').parentPort.postMessage(${i}), 100)`, { eval: true });
    t.once('message', (id) => { console.log(`Thread ${id} completed`); void t.terminate(); resolve(); });
    t.once('error', reject);
  }));
  await Promise.all(threads);
  console.log('All threads completed in parent');
}

async function startMethodComparison(): Promise<void> {
  const parentThreads = threadedParentWorker();
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the threads start

  const availableMethods = getAllStartMethods();
  console.log(`Available methods: ${JSON.stringify(availableMethods)}`);
  console.log(`Parent: PID ${process.pid}`);

  for (const method of availableMethods) {
    console.log(`\n--- Testing ${method} method ---`);
    try {
      const ctx = getContext(method);
      const child = new ctx.Process({ target: childProcessWork, args: [method] });
      child.start();
      await child.join();
    } catch (e) {
      console.log(`Error with ${method}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  await parentThreads;
}

if (isMainProcess()) {
  await startMethodComparison();
}
