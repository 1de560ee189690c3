/**
 * Queues (seed: billiard quick-start, the Queue / JoinableQueue API snippet):
 * producers and consumers in separate processes, a bounded queue, a sentinel
 * per consumer, and a JoinableQueue whose join() waits for taskDone() calls.
 *
 *   npx tsx examples/queue-producer-consumer.ts
 */
import { Empty, JoinableQueue, Process, Queue, isMainProcess } from 'billiard';

const DONE = null;

/** Puts `count` items, then nothing more. */
export async function producer(q: Queue<string | null>, id: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await q.put(`p${id}-item${i}`); // blocks while the queue is full
}

/** Takes items until it gets DONE; sends how many it consumed. */
export async function consumer(q: Queue<string | null>, results: Queue<number>): Promise<void> {
  let n = 0;
  for (;;) {
    const item = await q.get();
    if (item === DONE) break;
    n++;
  }
  await results.put(n);
}

/** Takes work from a JoinableQueue forever, marking each item done. */
export async function joinableWorker(q: JoinableQueue<number>, out: Queue<number>): Promise<void> {
  for (;;) {
    const x = await q.get();
    await out.put(x * 10);
    q.taskDone();
  }
}

if (isMainProcess()) {
  const q = new Queue<string | null>(5); // maxsize 5: producers wait for room
  const results = new Queue<number>();
  const producers = [1, 2].map((id) => new Process({ target: producer, args: [q, id, 10] }));
  const consumers = [1, 2].map(() => new Process({ target: consumer, args: [q, results] }));
  for (const p of [...producers, ...consumers]) p.start();
  for (const p of producers) await p.join();
  for (const _ of consumers) await q.put(DONE); // one sentinel per consumer
  let consumed = 0;
  for (const _ of consumers) consumed += await results.get();
  for (const c of consumers) await c.join();
  console.log(`consumed ${consumed} items; queue empty: ${q.empty()}, qsize ${q.qsize()}`);
  try {
    await q.get({ timeout: 50 });
  } catch (e) {
    if (e instanceof Empty) console.log(`get({ timeout: 50 }) on an empty queue: ${e.name}`);
    else throw e;
  }
  q.close();

  // JoinableQueue: join() resolves once every item put has been marked taskDone().
  const jq = new JoinableQueue<number>();
  const out = new Queue<number>();
  const w = new Process({ target: joinableWorker, args: [jq, out], daemon: true });
  w.start();
  for (let i = 1; i <= 5; i++) await jq.put(i);
  await jq.join();
  const got: number[] = [];
  while (!out.empty()) got.push(out.getNowait());
  console.log(`joinable queue: all tasks done, results ${JSON.stringify(got)}`);
  w.terminate();
  await w.join();
}
