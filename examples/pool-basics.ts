/**
 * Pool (seed: billiard quick-start, the Pool API snippet): apply, applyAsync
 * with a callback, map, imap, starmap, errors from workers, close/join and
 * terminate.
 *
 *   npx tsx examples/pool-basics.ts
 */
import { Pool, isMainProcess } from 'billiard';

export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function fail(msg: string): never {
  throw new RangeError(msg);
}

if (isMainProcess()) {
  const pool = new Pool({ processes: 2 });

  console.log(`apply: ${await pool.apply(square, [7])}`);

  const res = pool.applyAsync(add, [2, 3], { callback: (v) => console.log(`callback got ${v}`) });
  console.log(`applyAsync: ${await res.get({ timeout: 5000 })}, successful: ${res.successful()}`);

  console.log(`map: ${JSON.stringify(await pool.map(square, [1, 2, 3, 4, 5]))}`);
  const lazy: number[] = [];
  for await (const v of pool.imap(square, [6, 7, 8])) lazy.push(v);
  console.log(`imap: ${JSON.stringify(lazy)}`);
  console.log(`starmap: ${JSON.stringify(await pool.starmap(add, [[1, 1], [2, 2], [3, 3]]))}`);

  try {
    await pool.apply(fail, ['bad input']);
  } catch (e) {
    // The worker's error, with its own class; the remote stack is its cause.
    console.log(`error from worker: ${(e as Error).name}: ${(e as Error).message} (instanceof RangeError: ${e instanceof RangeError})`);
  }

  pool.close();      // no more tasks
  await pool.join(); // wait for the workers to exit
  console.log('pool closed and joined');

  const other = new Pool(2);
  const pending = other.applyAsync(square, [3]);
  await pending.get();
  await other.terminate(); // kills the workers at once; pending jobs would reject with Terminated
  console.log('second pool terminated');
}
