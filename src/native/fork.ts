/**
 * fork(2) for a Node.js process: the forkserver's mechanism, and only its.
 *
 * Three things stand between Node.js and fork, and each is handled here:
 * - V8 marks its heap MADV_DONTFORK, so a plain fork gives a child without a
 *   heap: every mapping is turned back to MADV_DOFORK first.
 * - A forked child has only the calling thread. The server runs V8 with
 *   --single-threaded, so V8 never needs its worker threads; libuv's
 *   thread pool restarts itself after a fork (pthread_atfork).
 * - libuv's epoll instance and wake-up pipes are shared with the parent until
 *   the child calls uv_loop_fork, which must come before any handle changes.
 */
import * as fs from 'node:fs';
import { constants } from 'node:os';
import type { LibraryHandle } from 'koffi';
import { ECHILD, EINTR, ENOMEM, MADV_DOFORK, POLLIN, WNOHANG, koffi, libc, osError } from './libc.js';

interface NodeSymbols {
  uvDefaultLoop(): bigint;
  uvLoopFork(loop: bigint): number;
}

let node: NodeSymbols | undefined;

/** libuv's entry points, exported by the node binary itself (dlopen(NULL)). */
function nodeSymbols(): NodeSymbols {
  if (node) return node;
  const self = koffi().load(null as unknown as string) as LibraryHandle;
  return (node = {
    uvDefaultLoop: self.func('void *uv_default_loop()'),
    uvLoopFork: self.func('int uv_loop_fork(void *loop)'),
  });
}

/** Bind everything a fork needs now, so that the child does not start by loading symbols. */
export function prepareFork(): void {
  libc();
  nodeSymbols();
  inheritableRanges();
}

/** Top of user space on x86-64 and arm64 (47/48-bit): nothing of ours lies above. */
const USER_TOP = 2 ** 47;

let inheritable: number[] | undefined;

/**
 * Address ranges covering every mapping but the kernel's special ones, which
 * refuse MADV_DOFORK ([vvar] and the like): computed once, they never move.
 */
function inheritableRanges(): number[] {
  if (inheritable) return inheritable;
  const special: Array<[number, number]> = [];
  for (const line of fs.readFileSync('/proc/self/maps', 'latin1').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) .*\[(vvar|vvar_vclock|vsyscall)\]\s*$/.exec(line);
    if (m) special.push([parseInt(m[1]!, 16), parseInt(m[2]!, 16)]);
  }
  special.sort((a, b) => a[0] - b[0]);
  const ranges: number[] = [];
  let from = 4096;
  for (const [start, end] of special) {
    if (start > from) ranges.push(from, start - from);
    from = Math.max(from, end);
  }
  if (from < USER_TOP) ranges.push(from, USER_TOP - from);
  return (inheritable = ranges);
}

/**
 * Let every mapping of this process be inherited: V8 marks each heap page it
 * maps MADV_DONTFORK. A few calls over whole ranges (the kernel skips the
 * gaps), allocating nothing, so that no new heap page appears between this
 * and the fork.
 */
function inheritAllMappings(): void {
  const c = libc();
  const ranges = inheritableRanges();
  for (let i = 0; i < ranges.length; i += 2) {
    // ENOMEM only says the range had gaps; every mapping in it was changed.
    if (c.madvise(ranges[i]!, ranges[i + 1]!, MADV_DOFORK) !== 0 && c.errno() !== ENOMEM) {
      throw osError(c.errno(), 'madvise');
    }
  }
}

/**
 * Fork this process. Returns the child's pid in the parent and 0 in the
 * child, which must call `reopenEventLoop` before anything else touches the
 * event loop. Only a process started with --single-threaded may call this.
 */
export function forkProcess(): number {
  const c = libc();
  inheritAllMappings();
  const pid = c.fork();
  if (pid < 0) throw osError(c.errno(), 'fork');
  return pid;
}

/** In a freshly forked child: give it its own event loop (epoll instance, signal and wake-up pipes). */
export function reopenEventLoop(): void {
  const n = nodeSymbols();
  const r = n.uvLoopFork(n.uvDefaultLoop());
  if (r !== 0) throw osError(-r, 'uv_loop_fork');
}

/** End this process now: no exit handlers, no teardown (a forked child cannot join threads it never had). */
export function exitImmediately(code: number): never {
  libc()._exit(code);
  throw new Error('unreachable');
}

/** A descriptor that polls readable once `pid` has exited (pidfd_open, Linux ≥ 5.3). */
export function pidfdOpen(pid: number): number {
  const c = libc();
  const fd = Number(c.pidfdOpen(pid));
  if (fd < 0) throw osError(c.errno(), 'pidfd_open');
  return fd;
}

/**
 * Reap `pid` if it has exited: its exit code as CPython reports it (the
 * status, or −signal), or null while it runs.
 */
export function reapChild(pid: number): number | null {
  const c = libc();
  const status = new Int32Array(1);
  for (;;) {
    const r = c.waitpid(pid, status, WNOHANG);
    if (r === pid) {
      const st = status[0]!;
      const signal = st & 0x7f;
      return signal === 0 ? (st >> 8) & 0xff : -signal;
    }
    if (r === 0) return null;
    const e = c.errno();
    if (e === EINTR) continue;
    if (e === ECHILD) return -constants.signals.SIGKILL;
    throw osError(e, 'waitpid');
  }
}

/**
 * Block until one of `fds` is readable (or hung up), or `timeoutMs` passes
 * (negative: forever); returns the indexes of those that are readable.
 * Blocks the whole thread.
 */
export function pollReadable(fds: readonly number[], timeoutMs = -1): number[] {
  const c = libc();
  const pfd = new Int32Array(fds.length * 2);
  for (;;) {
    fds.forEach((fd, i) => {
      pfd[2 * i] = fd;
      pfd[2 * i + 1] = POLLIN;
    });
    const r = c.poll(pfd, fds.length, timeoutMs);
    if (r === 0) return [];
    if (r > 0) {
      const ready: number[] = [];
      for (let i = 0; i < fds.length; i++) if ((pfd[2 * i + 1]! >>> 16) !== 0) ready.push(i);
      return ready;
    }
    const e = c.errno();
    if (r < 0 && e !== EINTR) throw osError(e, 'poll');
  }
}
