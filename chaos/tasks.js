// Tasks the chaos scenarios run in children.
const forever = () => new Promise(() => { setInterval(() => {}, 1 << 30); });
/** About `ms` of CPU, then x * 2. */
export function work(x, ms = 4) {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return x * 2;
}
export const sleepy = (ms) => new Promise((r) => setTimeout(() => r(ms), ms));
export const echo = (x) => x;
export const returnFunction = () => () => 1;
export function pid() { return process.pid; }

/** Acquire `lock`, tell the parent, then hang until killed. */
export async function holdLock(lock, conn) {
  await lock.acquire();
  conn.send('held');
  await forever(); // the child exits when its target returns (as in Python): stay until killed
}
export async function holdRLock(lock, conn) {
  await lock.acquire();
  await lock.acquire();
  conn.send('held');
  await forever(); // the child exits when its target returns (as in Python): stay until killed
}
export async function barrierWait(barrier, conn) {
  conn.send('waiting');
  try {
    const r = await barrier.wait();
    conn.send({ ok: r });
  } catch (err) {
    conn.send({ err: err.constructor.name });
  }
  await forever(); // the child exits when its target returns (as in Python): stay until killed
}
export async function putBig(queue, conn, size) {
  conn.send('putting');
  for (;;) await queue.put(Buffer.alloc(size, 7));
}
export async function queueChurn(queue, n) {
  for (let i = 0; i < n; i++) await queue.put({ i, pad: 'x'.repeat(100) });
}
