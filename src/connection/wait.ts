/**
 * `wait(objects, timeout)`: CPython's multiprocessing.connection.wait over
 * Connections (a message or EOF is ready), Process sentinels (the process has
 * exited) and Listeners (an accept() would not wait).
 */
import { Connection } from '../connection.js';
import { ValueError, TypeError } from '../errors.js';
import { Sentinel } from '../process/process.js';
import { Listener } from './listener.js';

export type Waitable = Connection | Sentinel | Listener;

/**
 * A Connection is polled in slices this long, so that a poll left behind
 * when another object wins does not hold the event loop for long.
 * TODO(lead): an AbortSignal on FrameChannel.waitReadable would remove the slicing.
 */
const POLL_SLICE_MS = 100;

/**
 * Resolves with the objects in `objects` that are ready, in their order:
 * at once if some are, else when the first becomes ready, or `[]` after
 * `timeout` ms (null/undefined: no limit; 0 or negative: don't wait).
 */
export async function wait<T extends Waitable>(objects: Iterable<T>, timeout?: number | null): Promise<T[]> {
  const list = [...objects];
  for (const o of list) {
    if (!(o instanceof Connection || o instanceof Sentinel || o instanceof Listener)) {
      throw new TypeError(`cannot wait on ${Object.prototype.toString.call(o)}: expected a Connection, a Process sentinel or a Listener`);
    }
  }
  if (timeout !== null && timeout !== undefined && Number.isNaN(timeout)) throw new ValueError('timeout must be a number');
  const deadline = timeout === null || timeout === undefined ? Infinity : Date.now() + Math.max(0, timeout);
  for (;;) {
    const ready = await readyNow(list);
    if (ready.length > 0 || Date.now() >= deadline) return ready;
    await firstReady(list, deadline);
  }
}

async function readyNow<T extends Waitable>(list: T[]): Promise<T[]> {
  const flags = await Promise.all(list.map((o) => {
    if (o instanceof Connection) return o.closed ? true : o.poll(0);
    if (o instanceof Sentinel) return o.ready();
    return (o as Listener)._ready();
  }));
  return list.filter((_, i) => flags[i]);
}

/** Resolves when some object may be ready, or at the deadline (or after a poll slice). */
function firstReady(list: Waitable[], deadline: number): Promise<void> {
  const cleanups: Array<() => void> = [];
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const c of cleanups) c();
      resolve();
    };
    const left = deadline - Date.now();
    if (left !== Infinity) {
      const timer = setTimeout(finish, Math.max(0, left));
      cleanups.push(() => clearTimeout(timer));
    }
    let hasConnection = false;
    for (const o of list) {
      if (o instanceof Connection) {
        hasConnection = true;
        o.poll(Math.min(POLL_SLICE_MS, Math.max(0, left))).then((ok) => { if (ok) finish(); }, finish);
      } else if (o instanceof Sentinel) {
        o.exited.then(finish, finish);
      } else {
        const w = (o as Listener)._whenReady();
        cleanups.push(w.cancel);
        w.promise.then(finish, finish);
      }
    }
    if (hasConnection) {
      const slice = setTimeout(finish, POLL_SLICE_MS);
      cleanups.push(() => clearTimeout(slice));
    }
  });
}
