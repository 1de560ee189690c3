/**
 * Synchronization (seed: billiard quick-start, the Lock / Event / Semaphore
 * API snippet): a Lock around a shared counter, a Semaphore that lets two
 * workers in at a time, an Event that starts them all at once.
 *
 *   npx tsx examples/sync-primitives.ts
 */
import { Event, Lock, Process, Semaphore, Value, isMainProcess, type Synchronized } from 'billiard';

/** Waits for the start event, then increments the counter 1000 times under the lock. */
export async function incrementer(start: Event, lock: Lock, counter: Synchronized<number>): Promise<void> {
  await start.wait();
  for (let i = 0; i < 1000; i++) {
    lock.acquireSync();
    try {
      counter.getObj().value += 1; // the raw value: the lock above protects it
    } finally {
      lock.release();
    }
  }
}

/** Enters the semaphore-guarded section, records how many are inside. */
export async function limited(sem: Semaphore, inside: Synchronized<number>, maxInside: Synchronized<number>): Promise<void> {
  await sem.acquire();
  try {
    const now = await inside.withLock(() => ++inside.getObj().value);
    await maxInside.withLock(() => { if (now > maxInside.getObj().value) maxInside.getObj().value = now; });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await inside.withLock(() => { inside.getObj().value -= 1; });
  } finally {
    sem.release();
  }
}

if (isMainProcess()) {
  const start = new Event();
  const lock = new Lock();
  const counter = Value('i', 0);
  const workers = [0, 1, 2].map(() => new Process({ target: incrementer, args: [start, lock, counter] }));
  for (const w of workers) w.start();
  console.log(`event set: ${start.isSet()}`);
  start.set(); // release all the workers at once
  for (const w of workers) await w.join();
  console.log(`counter: ${counter.value} (expected 3000)`);

  const sem = new Semaphore(2);
  const inside = Value('i', 0);
  const maxInside = Value('i', 0);
  const limitedWorkers = [0, 1, 2, 3].map(() => new Process({ target: limited, args: [sem, inside, maxInside] }));
  for (const w of limitedWorkers) w.start();
  for (const w of limitedWorkers) await w.join();
  console.log(`at most ${maxInside.value} workers inside the Semaphore(2) section`);

  const got = await lock.acquire({ timeout: 100 });
  console.log(`lock acquired: ${got}`);
  lock.release();
}
