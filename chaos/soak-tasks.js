// Child-side helpers of the soak scenario (imported by pool workers, the peer process and the manager).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn;
/** A full GC, without needing --expose-gc on the command line (children are started by the library). */
export function fullGc() {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc');
  }
  gcFn();
}

/** This process's memory right after a full GC: heapUsed is then the live set, not GC timing. */
export function probe() {
  fullGc();
  const m = process.memoryUsage();
  return { pid: process.pid, t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

/**
 * Report this process's memory to `reports` every `ms` (pool initializer; the peer calls it too).
 * The timer is unref'd: it never keeps a worker alive.
 */
export function startReporter(reports, role, ms) {
  const send = () => { reports.put({ role, ...probe() }).catch(() => {}); };
  send();
  setInterval(send, ms).unref();
}

/** Held by the manager's server, so the soak can sample the manager process's heap. */
export class Probe {
  memory() { return { role: 'manager', ...probe() }; }
}

const tick = () => new Promise(setImmediate);

/**
 * The queue and lock peer: echoes every item of `inq` to `outq`, and increments `counter`
 * under `lock` in a second loop, until the `null` sentinel; then sends its lock count.
 */
export async function peer(inq, outq, lock, counter, reports, ms) {
  startReporter(reports, 'peer', ms);
  let running = true, locks = 0;
  const locker = (async () => {
    while (running) {
      await lock.acquire();
      counter.value += 1;
      lock.release();
      locks++;
      await tick();
    }
  })();
  for (;;) {
    const item = await inq.get();
    if (item === null) break;
    await outq.put(item);
  }
  running = false;
  await locker;
  await outq.put({ done: true, locks });
}
