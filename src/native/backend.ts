/**
 * The native backend: the few OS services Node.js lacks, over koffi. Linux
 * (x64, arm64) only; elsewhere every call throws OSError.
 *
 * These are slow paths. Hot paths use JS `Atomics` directly on
 * `new Int32Array(segment.buffer)`, which is atomic across processes in V8
 * (see test/native-atomics.test.js).
 */
import { constants } from 'node:os';
import { ValueError } from '../errors.js';
import { futexWait, futexWake, type FutexTarget, type WaitResult } from './futex.js';
import {
  AF_UNIX,
  EINTR,
  EBADF,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  PR_SET_PDEATHSIG,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  libc,
  osError,
} from './libc.js';
import { mapSegment, unlinkSegment, type MapOptions, type Segment } from './shm.js';
import { waitAsync, type WaitAsyncOptions } from './waiter.js';

export type { FutexTarget, MapOptions, Segment, WaitAsyncOptions, WaitResult };
export { futexWait, futexWake, mapSegment, unlinkSegment, waitAsync };
export { pendingAsyncWaits } from './waiter.js';

/** What the rest of billiard needs from the OS; one implementation per platform. */
export interface NativeBackend {
  socketpair(): [number, number];
  pollFd(fd: number, events: 'read' | 'write', timeoutMs: number): boolean;
  setParentDeathSignal(signal: number | NodeJS.Signals, expectedParentPid?: number): void;
  gettid(): number;
  mapSegment(name: string, size: number, opts: MapOptions): Segment;
  unlinkSegment(name: string): void;
  futexWait(target: FutexTarget, byteOffset: number, expected: number, timeoutMs?: number): WaitResult;
  futexWake(target: FutexTarget, byteOffset: number, count?: number): number;
  waitAsync(
    target: FutexTarget,
    byteOffset: number,
    expected: number,
    timeoutMs?: number,
    opts?: WaitAsyncOptions,
  ): Promise<WaitResult>;
}

/** A connected AF_UNIX stream pair, both ends close-on-exec. */
export function socketpair(): [number, number] {
  const c = libc();
  const sv = new Int32Array(2);
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw osError(c.errno(), 'socketpair');
  return [sv[0]!, sv[1]!];
}

/**
 * Block until fd is readable/writable, or hung up or in error (true), or until
 * timeoutMs passes (false; negative: forever). Blocks the whole thread.
 */
export function pollFd(fd: number, events: 'read' | 'write', timeoutMs: number): boolean {
  const c = libc();
  // struct pollfd { int fd; short events; short revents; } on little-endian.
  const pfd = new Int32Array(2);
  const want = events === 'read' ? POLLIN : POLLOUT;
  const infinite = !(timeoutMs >= 0) || timeoutMs === Infinity;
  const deadline = infinite ? 0 : performance.now() + timeoutMs;
  for (;;) {
    pfd[0] = fd;
    pfd[1] = want;
    const wait = infinite ? -1 : Math.min(0x7fffffff, Math.max(0, Math.ceil(deadline - performance.now())));
    const r = c.poll(pfd, 1, wait);
    if (r > 0) {
      const revents = (pfd[1]! >>> 16) & 0xffff;
      if (revents & POLLNVAL) throw osError(EBADF, 'poll');
      return (revents & (want | POLLHUP | POLLERR)) !== 0;
    }
    if (r === 0) {
      if (infinite || performance.now() >= deadline) return false;
      continue; // poll rounds to ms: finish the remainder
    }
    const e = c.errno();
    if (e !== EINTR) throw osError(e, 'poll');
  }
}

/**
 * Ask the kernel to send `signal` to this process when its parent dies
 * (prctl PR_SET_PDEATHSIG). If the parent died before the call, nothing would
 * ever arrive; pass `expectedParentPid` and the signal is raised at once then.
 * Linux ties this to the parent *thread* that forked us: spawn from the main
 * thread.
 */
export function setParentDeathSignal(signal: number | NodeJS.Signals, expectedParentPid?: number): void {
  const signo = typeof signal === 'number' ? signal : constants.signals[signal];
  if (!Number.isInteger(signo) || signo <= 0 || signo > 64) throw new ValueError(`invalid signal: ${String(signal)}`);
  const c = libc();
  if (c.prctl(PR_SET_PDEATHSIG, signo, 0, 0, 0) < 0) throw osError(c.errno(), 'prctl');
  if (expectedParentPid !== undefined && c.getppid() !== expectedParentPid) process.kill(process.pid, signo);
}

/** The kernel thread id of the calling thread (== pid on the main thread). */
export function gettid(): number {
  return libc().gettid();
}

export const linuxBackend: NativeBackend = {
  socketpair,
  pollFd,
  setParentDeathSignal,
  gettid,
  mapSegment,
  unlinkSegment,
  futexWait,
  futexWake,
  waitAsync,
};
