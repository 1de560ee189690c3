/**
 * Async futex waits, served by waiter threads (worker_threads) that block in
 * futex_waitv; never by libuv's 4-thread pool, where a few pending waits would
 * stall all file system work.
 *
 * One thread serves up to FUTEX_WAITV_MAX - 1 distinct words; a further thread
 * starts only when more distinct words are waited on at once. Timeouts are
 * plain timers here, so they hold even while a thread is still starting
 * (~30 ms for the first wait of a process). A thread is
 * ref'ed while it has pending waits and unref'ed otherwise, so an idle waiter
 * never keeps the process alive; on 'exit' the threads are told to stop.
 */
import { MessageChannel, Worker, isMainThread, type MessagePort } from 'node:worker_threads';
import { OSError } from '../errors.js';
import { wordAddress, type FutexTarget, type WaitResult } from './futex.js';
import {
  FUTEX_PRIVATE_FLAG,
  FUTEX_WAITV_MAX,
  FUTEX_WAKE,
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  koffi,
  libc,
  osError,
} from './libc.js';
import { Op, type AddMessage, type CancelMessage, type ThreadMessage } from './waiter-protocol.js';
import { afterForkInChild } from '../process/after-fork.js';

const MAX_TIMER_MS = 0x7fffffff; // setTimeout's limit; longer counts as forever
/** Bound on how long terminating a worker that used waitAsync can take (see waiter-thread). */
const HOSTED_POLL_MS = 100;

interface WaiterThread {
  worker: Worker;
  port: MessagePort;
  bell: Int32Array; // [sequence, stop], in memory the thread reads by address
  bellAddr: bigint;
  words: Map<bigint, number>; // word address -> pending waits on it
  pending: number;
  ringing: boolean;
}

interface Pending {
  thread: WaiterThread;
  addr: bigint;
  /** Keeps a segment's mapping from being reclaimed by GC while its word is watched. */
  target: FutexTarget;
  resolve(result: WaitResult): void;
  reject(err: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
  timer?: NodeJS.Timeout;
}

export interface WaitAsyncOptions {
  /** Aborting stops the wait and rejects the promise with `signal.reason`. */
  signal?: AbortSignal;
}

const threads: WaiterThread[] = [];
const pending = new Map<number, Pending>();
let nextId = 1;
let broken: OSError | undefined; // the kernel refused futex_waitv: fail fast afterwards

// A forked child has none of the server's threads: it starts waiter threads of its own.
afterForkInChild(() => {
  threads.length = 0;
  pending.clear();
});

/**
 * Wait, without blocking the event loop, while the int32 at target+byteOffset
 * equals `expected`, until woken, `timeoutMs` passes (negative: forever) or
 * `signal` aborts. 'ok' may be spurious: callers re-check the word.
 */
export function waitAsync(
  target: FutexTarget,
  byteOffset: number,
  expected: number,
  timeoutMs = -1,
  opts: WaitAsyncOptions = {},
): Promise<WaitResult> {
  const addr = wordAddress(target, byteOffset);
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (broken) return Promise.reject(broken);
  expected |= 0;
  // The value now decides 'not-equal'; later changes count as wakes.
  if ((koffi().decode.int32(addr) as number) !== expected) return Promise.resolve('not-equal');
  const timed = timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS;
  if (timed && timeoutMs === 0) return Promise.resolve('timeout');

  const thread = threadFor(addr);
  const id = nextId++;
  return new Promise<WaitResult>((resolve, reject) => {
    const p: Pending = { thread, addr, target, resolve, reject };
    pending.set(id, p);
    thread.words.set(addr, (thread.words.get(addr) ?? 0) + 1);
    if (thread.pending++ === 0) thread.worker.ref();
    const add: AddMessage = [Op.Add, id, addr, expected];
    thread.port.postMessage(add);
    ring(thread);
    if (timed) {
      p.timer = setTimeout(() => {
        cancel(id, p);
        resolve('timeout');
      }, timeoutMs);
    }
    if (signal) {
      p.signal = signal;
      p.onAbort = () => {
        cancel(id, p);
        reject(signal.reason);
      };
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
  });
}

/** Number of async waits not yet settled (for tests and diagnostics). */
export function pendingAsyncWaits(): number {
  return pending.size;
}

/** Settled here (timeout, abort): tell the thread to drop the wait. */
function cancel(id: number, p: Pending): void {
  forget(id, p);
  const msg: CancelMessage = [Op.Cancel, id];
  p.thread.port.postMessage(msg);
  ring(p.thread);
}

function forget(id: number, p: Pending): void {
  pending.delete(id);
  const t = p.thread;
  const n = (t.words.get(p.addr) ?? 1) - 1;
  if (n === 0) t.words.delete(p.addr);
  else t.words.set(p.addr, n);
  if (--t.pending === 0) t.worker.unref();
  if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
  if (p.timer) clearTimeout(p.timer);
}

function threadFor(addr: bigint): WaiterThread {
  // Slot 0 of each futex_waitv call is the doorbell.
  const capacity = FUTEX_WAITV_MAX - 1;
  return (
    threads.find((t) => t.words.has(addr)) ??
    threads.find((t) => t.words.size < capacity) ??
    startThread()
  );
}

/** Bump and wake the doorbell, once per microtask however many messages were posted. */
function ring(t: WaiterThread): void {
  if (t.ringing) return;
  t.ringing = true;
  queueMicrotask(() => {
    t.ringing = false;
    Atomics.add(t.bell, 0, 1);
    libc().futex(t.bellAddr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, null, null, 0);
  });
}

function startThread(): WaiterThread {
  const c = libc();
  // The doorbell lives in memory with a stable address that both threads can use.
  const bellAddr = c.mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (bellAddr === MAP_FAILED) throw osError(c.errno(), 'mmap');
  const bell = new Int32Array(koffi().view(bellAddr, 8));
  const { port1, port2 } = new MessageChannel();
  // Run the thread next to this file. Compiled JS needs no flags, and inherited
  // ones can break it (--input-type); from sources (tsx) it needs the loader.
  const fromSource = import.meta.url.endsWith('.ts');
  const worker = new Worker(new URL(fromSource ? './waiter-thread.ts' : './waiter-thread.js', import.meta.url), {
    execArgv: fromSource ? process.execArgv.filter((a) => !a.startsWith('--input-type')) : [],
    workerData: { port: port2, bell: bellAddr, pollMs: isMainThread ? 0 : HOSTED_POLL_MS },
    transferList: [port2],
    stdout: false,
    stderr: false,
  });
  const t: WaiterThread = { worker, port: port1, bell, bellAddr, words: new Map(), pending: 0, ringing: false };
  worker.unref();
  worker.on('message', (msg: ThreadMessage) => {
    if ('woken' in msg) {
      for (const id of msg.woken) {
        const p = pending.get(id);
        if (p === undefined) continue; // timed out or aborted meanwhile
        forget(id, p);
        p.resolve('ok');
      }
    } else {
      fail(t, osError(msg.fatal, 'futex_waitv'));
    }
  });
  worker.on('error', (err) => fail(t, new OSError(`waiter thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', () => fail(t, new OSError('waiter thread exited')));
  if (threads.length === 0) process.once('exit', stopAll);
  threads.push(t);
  return t;
}

/** A thread died: reject its waits and refuse new ones (the cause would recur). */
function fail(t: WaiterThread, err: OSError): void {
  const i = threads.indexOf(t);
  if (i < 0) return;
  threads.splice(i, 1);
  broken ??= err;
  for (const [id, p] of pending) {
    if (p.thread !== t) continue;
    forget(id, p);
    p.reject(err);
  }
}

/** Let the threads return from futex_waitv so that exit can join them. */
function stopAll(): void {
  for (const t of threads) {
    Atomics.store(t.bell, 1, 1);
    Atomics.add(t.bell, 0, 1);
    libc().futex(t.bellAddr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, null, null, 0);
  }
}
