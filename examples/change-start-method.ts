/**
 * Use contexts to change start methods (seed: SuperFastPython, "Use Context To
 * Change Start Methods").
 *
 * A child from a 'forkserver' context (Python's example uses 'fork', which
 * Node.js does not have), then one from a 'spawn' context; each reports the
 * start method it was started with. (The sleep is 200 ms instead of 1 s.)
 *
 *   npx tsx examples/change-start-method.ts
 */
import { getContext, getStartMethod, isMainProcess } from 'billiard';

/** Runs in a child process. */
export async function task(): Promise<void> {
  const method = getStartMethod();
  console.log(`Child process using start method: ${method}`);
  await new Promise((resolve) => setTimeout(resolve, 200)); // block for a moment
}

if (isMainProcess()) {
  // A context that uses the 'forkserver' start method.
  const context1 = getContext('forkserver');
  const child1 = new context1.Process({ target: task });
  child1.start();
  await child1.join();

  // A context that uses the 'spawn' start method.
  const context2 = getContext('spawn');
  const child2 = new context2.Process({ target: task });
  child2.start();
  await child2.join();
}
