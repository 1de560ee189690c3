/**
 * Sharing a lock between contexts (seed: SuperFastPython, "Error When Sharing
 * Objects From Different Contexts").
 *
 * In Python, a lock made by a 'fork' context fails in a 'spawn' child
 * (`OSError: [Errno 9] Bad file descriptor`), while the other direction happens
 * to work. billiard's locks live in shared memory and travel by name, so both
 * directions work here — with 'forkserver' in the role of 'fork'. Mixing
 * contexts is still best avoided.
 *
 *   npx tsx examples/mixed-context-lock.ts
 */
import { getContext, getStartMethod, isMainProcess, type Lock, type StartMethod } from 'billiard';

/** Runs in a child process: hold the lock while reporting. */
export async function task(lock: Lock): Promise<void> {
  await lock.withLock(async () => {
    console.log(`Child process using start method: ${getStartMethod()}`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // block for a moment
  });
}

async function run(lockMethod: StartMethod, processMethod: StartMethod): Promise<void> {
  const context1 = getContext(lockMethod);
  const lock = new context1.Lock();
  const context2 = getContext(processMethod);
  const child = new context2.Process({ target: task, args: [lock] });
  child.start();
  await child.join();
  console.log(`lock from ${lockMethod}, process from ${processMethod}: exit code ${child.exitcode}`);
}

if (isMainProcess()) {
  await run('forkserver', 'spawn');
  await run('spawn', 'forkserver');
}
