/**
 * The waiter thread: serves every async futex wait of its process (up to
 * FUTEX_WAITV_MAX - 1 distinct words) with one blocking futex_waitv call.
 *
 * Slot 0 of the vector is a private "doorbell" word that the main thread bumps
 * and wakes after posting add/cancel messages; the messages are read here
 * synchronously (receiveMessageOnPort) because this thread's event loop never
 * runs. Waits on the same word share one slot; when that slot is woken, all of
 * them settle 'ok' (a spurious wake for some is allowed, a lost one is not).
 *
 * futex_waitv reports only one woken slot even if several were woken, so after
 * every return the words are re-read and any wait whose word no longer holds
 * its expected value settles 'ok' too. This assumes the usual futex protocol:
 * the waker changes the word before waking. Timeouts are the main thread's job.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  CLOCK_MONOTONIC,
  EAGAIN,
  EINTR,
  ETIMEDOUT,
  FUTEX2_PRIVATE,
  FUTEX2_SIZE_U32,
  FUTEX_WAITV_MAX,
  koffi,
  libc,
} from './libc.js';
import { Op, type AddMessage, type CancelMessage, type ThreadMessage } from './waiter-protocol.js';

interface Wait {
  id: number;
  expected: number;
}

const { port, bell: bellAddr, pollMs } = workerData as { port: MessagePort; bell: bigint; pollMs: number };
const c = libc();
const k = koffi();
const bell = new Int32Array(k.view(bellAddr, 8)); // [sequence, stop]

const words = new Map<bigint, Map<number, Wait>>();
const wordOf = new Map<number, bigint>();
// struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 reserved; }, little-endian.
const vector = new BigUint64Array(FUTEX_WAITV_MAX * 3);
const slots: bigint[] = [];
const timespec = new BigInt64Array(2);
let out: number[] = [];

function settle(addr: bigint, wait: Wait): void {
  words.get(addr)?.delete(wait.id);
  wordOf.delete(wait.id);
  out.push(wait.id);
}

function drain(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as AddMessage | CancelMessage;
    if (msg[0] === Op.Add) {
      const [, id, addr, expected] = msg;
      let group = words.get(addr);
      if (group === undefined) words.set(addr, (group = new Map()));
      group.set(id, { id, expected });
      wordOf.set(id, addr);
    } else {
      const addr = wordOf.get(msg[1]);
      if (addr !== undefined) {
        words.get(addr)?.delete(msg[1]);
        wordOf.delete(msg[1]);
      }
    }
  }
}

/** Settle the waits whose word changed, fill the vector; returns the slot count. */
function prepare(seq: number): number {
  vector[0] = BigInt(seq >>> 0);
  vector[1] = bellAddr;
  vector[2] = BigInt(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
  slots.length = 0;
  for (const [addr, group] of words) {
    const value = k.decode.int32(addr) as number;
    for (const wait of group.values()) {
      // The main thread saw the expected value when the wait began: a change is a wake.
      if (wait.expected !== value) settle(addr, wait);
    }
    if (group.size === 0) {
      words.delete(addr);
      continue;
    }
    const i = (slots.length + 1) * 3;
    vector[i] = BigInt(value >>> 0);
    vector[i + 1] = addr;
    vector[i + 2] = BigInt(FUTEX2_SIZE_U32); // shared: the word is in MAP_SHARED memory
    slots.push(addr);
  }
  return slots.length + 1;
}

/**
 * When this thread's host is itself a worker, worker.terminate() on the host
 * gives no JS hook to ring the doorbell, and the host's teardown joins this
 * thread; so wake up every pollMs to let a pending termination take effect.
 */
function pollDeadline(): BigInt64Array {
  const at = process.hrtime.bigint() + BigInt(pollMs) * 1_000_000n;
  timespec[0] = at / 1_000_000_000n;
  timespec[1] = at % 1_000_000_000n;
  return timespec;
}

function flush(): void {
  if (out.length === 0) return;
  const msg: ThreadMessage = { woken: out };
  parentPort!.postMessage(msg);
  out = [];
}

for (;;) {
  // Read the sequence before draining: a message posted after the drain bumps it
  // and makes futex_waitv return EAGAIN at once.
  const seq = Atomics.load(bell, 0);
  if (Atomics.load(bell, 1) !== 0) break;
  drain();
  const n = prepare(seq);
  flush();
  const r = c.futexWaitv(vector, n, 0, pollMs > 0 ? pollDeadline() : null, CLOCK_MONOTONIC);
  if (r > 0) {
    const addr = slots[r - 1]!;
    for (const wait of words.get(addr)?.values() ?? []) settle(addr, wait);
  } else if (r < 0) {
    const e = c.errno();
    if (e !== EAGAIN && e !== EINTR && e !== ETIMEDOUT) {
      const msg: ThreadMessage = { fatal: e };
      parentPort!.postMessage(msg);
      break;
    }
  }
}
