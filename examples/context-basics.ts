/**
 * Context basics (seed: billiard docs, "Context Functions" usage example).
 *
 * Lists the start methods, reads and sets the default one, then runs a child
 * that reports its pid, its parent's pid and the start method it was started with.
 *
 *   npx tsx examples/context-basics.ts
 */
import { Process, getAllStartMethods, getStartMethod, isMainProcess, setStartMethod, ValueError } from 'billiard';

/** Runs in the child: print information about the worker process. */
export function workerInfo(): void {
  console.log(`Worker PID: ${process.pid}`);
  console.log(`Parent PID: ${process.ppid}`);
  console.log(`Start method: ${getStartMethod()}`);
}

async function contextBasicsExample(): Promise<void> {
  console.log(`Available start methods: ${JSON.stringify(getAllStartMethods())}`);
  console.log(`Current start method: ${getStartMethod()}`);

  // Set the start method (before creating processes); force: it may already be fixed.
  try {
    setStartMethod('spawn', { force: true });
    console.log(`Set start method to: ${getStartMethod()}`);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    console.log(`Could not set start method: ${e.message}`);
  }

  // A process with the current (default) context.
  const child = new Process({ target: workerInfo });
  child.start();
  await child.join();
  console.log(`Child exit code: ${child.exitcode}`);
}

if (isMainProcess()) {
  await contextBasicsExample();
}
