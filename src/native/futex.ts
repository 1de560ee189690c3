/**
 * Blocking futex wait and wake on an int32 word of shared memory.
 *
 * The words live in MAP_SHARED memory used by several processes, so these are
 * shared (not FUTEX_PRIVATE) futexes, keyed by the kernel on the backing page.
 */
import { ValueError } from '../errors.js';
import {
  FUTEX_BITSET_MATCH_ANY,
  FUTEX_WAIT_BITSET,
  FUTEX_WAKE,
  EAGAIN,
  EINTR,
  ETIMEDOUT,
  libc,
  osError,
} from './libc.js';
import type { Segment } from './shm.js';

export type WaitResult = 'ok' | 'timeout' | 'not-equal';
/** A mapped segment, or a raw address (the caller vouches for it). */
export type FutexTarget = Segment | bigint;

const INT_MAX = 0x7fffffff;

/** Address of the int32 at byteOffset, checked for alignment and bounds. */
export function wordAddress(target: FutexTarget, byteOffset: number): bigint {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new ValueError(`futex offset must be a non-negative multiple of 4, got ${byteOffset}`);
  }
  if (typeof target === 'bigint') return target + BigInt(byteOffset);
  if (target.closed) throw new ValueError(`segment '${target.name}' is unmapped`);
  if (byteOffset + 4 > target.size) {
    throw new ValueError(`futex offset ${byteOffset} is outside segment '${target.name}' of ${target.size} bytes`);
  }
  return target.address + BigInt(byteOffset);
}

/** Now on CLOCK_MONOTONIC, in ns (uv_hrtime reads that clock on Linux). */
export const monotonicNs = (): bigint => process.hrtime.bigint();

/** Absolute CLOCK_MONOTONIC deadline in ns, or -1n for "no timeout" (negative, Infinity, undefined). */
export function deadlineAfter(timeoutMs: number | undefined): bigint {
  if (timeoutMs === undefined || !(timeoutMs >= 0) || timeoutMs === Infinity) return -1n;
  return monotonicNs() + BigInt(Math.ceil(timeoutMs * 1e6));
}

// One reusable struct timespec: sync calls cannot interleave on a thread.
const timespec = new BigInt64Array(2);

function absTimespec(deadline: bigint): BigInt64Array | null {
  if (deadline < 0n) return null;
  timespec[0] = deadline / 1_000_000_000n;
  timespec[1] = deadline % 1_000_000_000n;
  return timespec;
}

/**
 * Block the calling thread while the int32 at target+byteOffset equals
 * `expected`, until woken or `timeoutMs` passes (negative: forever).
 * 'ok' may be spurious: callers re-check the word. EINTR is retried against the
 * same absolute deadline.
 */
export function futexWait(target: FutexTarget, byteOffset: number, expected: number, timeoutMs = -1): WaitResult {
  const addr = wordAddress(target, byteOffset);
  const c = libc();
  const deadline = deadlineAfter(timeoutMs);
  for (;;) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    const r = c.futex(addr, FUTEX_WAIT_BITSET, expected | 0, absTimespec(deadline), null, FUTEX_BITSET_MATCH_ANY);
    if (r === 0) return 'ok';
    const e = c.errno();
    if (e === EAGAIN) return 'not-equal';
    if (e === ETIMEDOUT) return 'timeout';
    if (e !== EINTR) throw osError(e, 'futex wait');
  }
}

/** Wake up to `count` waiters (Infinity: all) of the word; returns how many woke. */
export function futexWake(target: FutexTarget, byteOffset: number, count = 1): number {
  const addr = wordAddress(target, byteOffset);
  const n = count === Infinity ? INT_MAX : Math.max(0, Math.min(INT_MAX, Math.floor(count)));
  const c = libc();
  const r = c.futex(addr, FUTEX_WAKE, n, null, null, 0);
  if (r < 0) throw osError(c.errno(), 'futex wake');
  return r;
}
