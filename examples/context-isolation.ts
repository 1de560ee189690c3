/**
 * Context isolation (seed: billiard docs, "Context Objects" usage example,
 * context_isolation_example).
 *
 * Each context makes its own objects. The worker is a local arrow function, as
 * the nested `isolated_worker` of the Python example: it uses only its
 * arguments, so billiard sends it by source.
 *
 *   npx tsx examples/context-isolation.ts
 */
import { getContext, isMainProcess, type Queue } from 'billiard';

async function contextIsolationExample(): Promise<void> {
  const ctx1 = getContext('spawn');
  const ctx2 = getContext('spawn');

  const queue1 = new ctx1.Queue<string>();
  const queue2 = new ctx2.Queue<string>();

  // Self-contained (no outer names): sent to the child by source.
  const isolatedWorker = async (queue: Queue<string>, contextId: number) => {
    await queue.put(`Message from context ${contextId}`);
  };

  const p1 = new ctx1.Process({ target: isolatedWorker, args: [queue1, 1] });
  const p2 = new ctx2.Process({ target: isolatedWorker, args: [queue2, 2] });
  p1.start();
  p2.start();

  console.log('Context 1:', await queue1.get());
  console.log('Context 2:', await queue2.get());

  await p1.join();
  await p2.join();
  queue1.close();
  queue2.close();
}

if (isMainProcess()) {
  await contextIsolationExample();
}
