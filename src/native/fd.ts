/**
 * File-descriptor and process services of the native backend: socketpair,
 * blocking poll, parent-death signal, thread id. Kept apart from shared
 * memory and the waiter thread so a child's boot path loads only this.
 */
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ValueError } from '../errors.js';
import {
  AF_UNIX,
  EINTR,
  EBADF,
  F_DUPFD_CLOEXEC,
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

/** A connected AF_UNIX stream pair, both ends close-on-exec. */
export function socketpair(): [number, number] {
  const c = libc();
  const sv = new Int32Array(2);
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw osError(c.errno(), 'socketpair');
  return [sv[0]!, sv[1]!];
}

/** How long a blocking poll in a Worker thread waits before checking for termination. */
const WORKER_POLL_SLICE_MS = 100;

/** A close-on-exec duplicate of `fd` (its own descriptor for the same open file). */
export function dupFd(fd: number): number {
  const c = libc();
  for (;;) {
    const r = c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r >= 0) return r;
    const e = c.errno();
    if (e !== EINTR) throw osError(e, 'dup');
  }
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
    // Read the clock every round, even without a deadline: V8 notices worker.terminate() only on
    // such a call between two native calls (measured: a bare loop of koffi calls took 7 s to stop).
    const now = performance.now();
    let wait = infinite ? -1 : Math.min(0x7fffffff, Math.max(0, Math.ceil(deadline - now)));
    // worker.terminate() takes effect only when a thread runs JS: a Worker polls in slices.
    if (!isMainThread && (wait < 0 || wait > WORKER_POLL_SLICE_MS)) wait = WORKER_POLL_SLICE_MS;
    const r = c.poll(pfd, 1, wait);
    if (r > 0) {
      const revents = (pfd[1]! >>> 16) & 0xffff;
      if (revents & POLLNVAL) throw osError(EBADF, 'poll');
      return (revents & (want | POLLHUP | POLLERR)) !== 0;
    }
    if (r === 0) {
      if (!infinite && performance.now() >= deadline) return false;
      continue; // poll rounds to ms (or waited one slice): finish the remainder
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

