/**
 * Distributed system configuration (seed: billiard docs, "Context
 * Configuration Examples: Distributed System").
 *
 * 'forkserver' when available, else 'spawn'; a manager process holds the
 * shared state, which workers update through proxies.
 *
 *   npx tsx examples/distributed-manager.ts
 */
import { getAllStartMethods, getContext, isMainProcess, setStartMethod, type DictProxy, type Process } from 'billiard';

/** Runs in each worker: record a result in the managed dict. */
export async function recordResult(state: DictProxy<string, number>, nodeId: number): Promise<void> {
  await state.set(`node-${nodeId}`, nodeId * nodeId);
}

if (isMainProcess()) {
  setStartMethod(getAllStartMethods().includes('forkserver') ? 'forkserver' : 'spawn');
  const ctx = getContext();

  await using manager = await ctx.Manager(); // for distributed state; shut down on scope exit
  const state = await manager.dict<string, number>();
  const workers: Process[] = [];
  for (let i = 1; i <= 3; i++) {
    const p = new ctx.Process({ target: recordResult, args: [state, i] });
    workers.push(p);
    p.start();
  }
  for (const p of workers) await p.join();
  const items = (await state.items()).sort(([a], [b]) => a.localeCompare(b));
  console.log(`start method ${ctx.getStartMethod()}`);
  console.log(`shared state: ${JSON.stringify(items)}`);
}
