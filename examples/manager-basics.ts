/**
 * Managers (seed: billiard quick-start, the Manager / SyncManager API snippet):
 * a dict, a list, a Queue and a Lock held by a manager process and used by
 * children through proxies. Every proxy method returns a Promise.
 *
 *   npx tsx examples/manager-basics.ts
 */
import { Manager, Process, isMainProcess, type DictProxy, type ListProxy, type LockProxy, type QueueProxy } from 'billiard';

/** Runs in each child. */
export async function work(
  id: number, d: DictProxy<string, number>, l: ListProxy<string>, q: QueueProxy<string>, lock: LockProxy,
): Promise<void> {
  await d.set(`worker-${id}`, process.pid);
  await lock.acquire();
  try {
    await l.append(`entry from ${id}`);
  } finally {
    await lock.release();
  }
  await q.put(`done ${id}`);
}

if (isMainProcess()) {
  await using manager = await Manager(); // started; shut down when the scope ends
  const d = await manager.dict<string, number>();
  const l = await manager.list<string>(['first']);
  const q = await manager.Queue<string>();
  const lock = await manager.Lock();

  const children = [1, 2, 3].map((id) => new Process({ target: work, args: [id, d, l, q, lock] }));
  for (const c of children) c.start();
  const done: string[] = [];
  for (const _ of children) done.push(await q.get());
  for (const c of children) await c.join();

  console.log(`dict keys: ${JSON.stringify((await d.keys()).sort())}`);
  console.log(`list: ${JSON.stringify((await l.toArray()).sort())} (len ${await l.len()})`);
  console.log(`queue: ${JSON.stringify(done.sort())}`);
}
