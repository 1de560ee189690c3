/**
 * Several contexts in one program (seed: billiard docs, "Context Objects" usage
 * example, multiple_contexts_example).
 *
 * Python takes a 'fork' context when get_all_start_methods() has it; Node.js
 * cannot fork a running runtime, so the fast context here is 'forkserver'
 * (warm, pre-booted processes) when available, next to a 'spawn' context.
 *
 *   npx tsx examples/multiple-contexts.ts
 */
import { Process, Queue, getAllStartMethods, getContext, isMainProcess } from 'billiard';

/** Runs in each child: report the context it came from. */
export async function contextWorker(contextName: string, queue: Queue<string>): Promise<void> {
  await queue.put(`Worker from ${contextName} context: PID ${process.pid}`);
}

async function multipleContextsExample(): Promise<void> {
  const forkserverCtx = getAllStartMethods().includes('forkserver') ? getContext('forkserver') : null;
  const spawnCtx = getContext('spawn');

  const processes: Process[] = [];
  const resultsQueue = new Queue<string>();

  if (forkserverCtx) {
    processes.push(new forkserverCtx.Process({ target: contextWorker, args: ['forkserver', resultsQueue] }));
  }
  processes.push(new spawnCtx.Process({ target: contextWorker, args: ['spawn', resultsQueue] }));

  for (const p of processes) p.start();
  for (const _ of processes) console.log(await resultsQueue.get());
  for (const p of processes) await p.join();
  resultsQueue.close();
}

if (isMainProcess()) {
  await multipleContextsExample();
}
