/**
 * What every primitive of synchronize/ shares: who "I" am (kernel thread id,
 * unique across the machine), deadlines, and waiting on a word of the shared
 * heap, blocking the thread (futex) or not (the backend's waiter thread).
 *
 * Lock words (Lock, RLock, the Barrier's internal mutex) hold 0 when free,
 * else the owner's thread id, plus WAITERS when someone may sleep on it.
 * Uncontended acquire and release are one compareExchange each, in JS.
 */
import { existsSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { futexWait, futexWake, gettid, waitAsync } from '../native/backend.js';
import { threadAlive } from '../resource-tracker.js';
import { ValueError } from '../errors.js';
import type { Arena } from '../heap.js';
import { afterForkInChild } from '../process/after-fork.js';

export const WAITERS = 0x40000000;
export const OWNER = 0x3fffffff;
/** Blocked waiters re-check the owner's liveness this often (ms). */
export const SLICE_MS = 100;

let tid = 0;
afterForkInChild(() => { tid = 0; });
/** This thread's kernel id (the pid on a process's main thread). */
export function me(): number {
  return tid || (tid = isMainThread ? process.pid : gettid());
}

export interface AcquireOptions {
  /** false: do not wait (timeout is ignored). Default true. */
  block?: boolean;
  /** Give up after this many ms (negative counts as 0); default: wait forever. */
  timeout?: number | null;
}

/** performance.now()-based deadline; Infinity for none, 0 for "do not wait". */
export function deadlineOf(opts: AcquireOptions | undefined): number {
  if (opts === undefined || opts === null) return Infinity;
  if (opts.block === false) return 0;
  return deadlineAfter(opts.timeout);
}

export function deadlineAfter(timeout: number | null | undefined): number {
  if (timeout === undefined || timeout === null || timeout === Infinity) return Infinity;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new ValueError(`timeout must be a number, not ${String(timeout)}`);
  return performance.now() + Math.max(0, timeout);
}

/** ms left before `deadline`, at most SLICE_MS; 0 when it has passed. */
export function sliceLeft(deadline: number, slice = SLICE_MS): number {
  if (deadline === Infinity) return slice;
  const left = deadline - performance.now();
  return left <= 0 ? 0 : Math.min(slice, left);
}

/** Block while word `i` of `arena` equals `expected`, at most `ms`; true if it timed out. */
export function sleepSync(arena: Arena, i: number, expected: number, ms: number): boolean {
  return futexWait(arena.segment, i * 4, expected, ms) === 'timeout';
}

/** The same without blocking the thread. */
export async function sleepAsync(arena: Arena, i: number, expected: number, ms: number): Promise<boolean> {
  return (await waitAsync(arena.segment, i * 4, expected, ms)) === 'timeout';
}

export function wake(arena: Arena, i: number, count = Infinity): void {
  futexWake(arena.segment, i * 4, count);
}

export const FAILED = 0;
export const ACQUIRED = 1;
/** Acquired from an owner that had died holding the lock. */
export const STOLEN = 2;

/**
 * One attempt at lock word `i`: ACQUIRED/STOLEN, or minus the value to sleep on
 * (with WAITERS set). With `checkOwner`, a dead owner's lock is taken over.
 */
function tryWord(a: Int32Array, i: number, self: number, checkOwner: boolean): number {
  for (;;) {
    let v = Atomics.load(a, i);
    if (v === 0) {
      if (Atomics.compareExchange(a, i, 0, self | WAITERS) === 0) return ACQUIRED;
      continue;
    }
    if (checkOwner && !threadAlive(v & OWNER)) {
      if (Atomics.compareExchange(a, i, v, self | WAITERS) === v) return STOLEN;
      continue;
    }
    if (!(v & WAITERS)) {
      const w = v | WAITERS;
      if (Atomics.compareExchange(a, i, v, w) !== v) continue;
      v = w;
    }
    return -v;
  }
}

/** Spin this many rounds on a held lock word before sleeping (a holder on another CPU releases soon). */
const SPIN = 200;

/** Brief spinning: a lock held for a few instructions is taken without any syscall. */
function spin(a: Int32Array, i: number, self: number): boolean {
  for (let k = 0; k < SPIN; k++) {
    const v = Atomics.load(a, i);
    if (v === 0) {
      if (Atomics.compareExchange(a, i, 0, self) === 0) return true;
    } else if (v & WAITERS) {
      return false; // others sleep already: queue up behind them
    }
  }
  return false;
}

/** The contended path of a lock word, blocking the thread. */
export function lockWordSync(arena: Arena, i: number, deadline: number): number {
  const self = me();
  if (deadline !== 0 && spin(arena.i32, i, self)) return ACQUIRED;
  let check = false;
  for (;;) {
    const r = tryWord(arena.i32, i, self, check);
    if (r > 0) return r;
    const ms = sliceLeft(deadline);
    if (ms <= 0) {
      if (check) return FAILED;
      check = true; // last chance: a dead owner's lock is free
      continue;
    }
    check = sleepSync(arena, i, -r, ms);
  }
}

/** The contended path of a lock word, without blocking the thread. */
export async function lockWordAsync(arena: Arena, i: number, deadline: number): Promise<number> {
  const self = me();
  let check = false;
  for (;;) {
    const r = tryWord(arena.i32, i, self, check);
    if (r > 0) return r;
    const ms = sliceLeft(deadline);
    if (ms <= 0) {
      if (check) return FAILED;
      check = true;
      continue;
    }
    check = await sleepAsync(arena, i, -r, ms);
  }
}

/** Free lock word `i` (whoever holds it); false if it was not held. */
export function unlockWord(arena: Arena, i: number): boolean {
  const a = arena.i32;
  const self = me();
  if (Atomics.compareExchange(a, i, self, 0) === self) return true;
  const old = Atomics.exchange(a, i, 0);
  if (old === 0) return false;
  if (old & WAITERS) wake(arena, i, 1);
  return true;
}

/** "None", this process's name, "SomeOtherThread" or "SomeOtherProcess" (CPython's repr). */
export function describeOwner(owner: number, selfName: () => string): string {
  if (owner === 0) return 'None';
  if (owner === me()) return selfName();
  try {
    // A thread of this process?
    return threadAlive(owner) && isThreadOfThisProcess(owner) ? 'SomeOtherThread' : 'SomeOtherProcess';
  } catch {
    return 'SomeOtherProcess';
  }
}

/**
 * threadAlive() for hot paths (a Barrier's last arrival checks every waiter):
 * access() on /proc/<tid>/exe, about ten times cheaper than reading
 * /proc/<tid>/stat, succeeds for a live thread of a readable process and
 * fails for a gone or zombie one; only a failure is confirmed the slow way
 * (a process we may not inspect also fails the fast test).
 */
export function threadAliveFast(t: number): boolean {
  return t === me() || existsSync(`/proc/${t}/exe`) || threadAlive(t);
}

function isThreadOfThisProcess(t: number): boolean {
  return existsSync(`/proc/self/task/${t}`);
}

export const RESOLVED_TRUE = Promise.resolve(true);
export const RESOLVED_FALSE = Promise.resolve(false);
