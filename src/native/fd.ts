/**
 * File-descriptor and process services of the native backend: socketpair,
 * blocking poll, parent-death signal, thread id. Kept apart from shared
 * memory and the waiter thread so a child's boot path loads only this.
 */
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ValueError } from '../errors.js';
import {
  AF_UNIX,
  EAGAIN,
  ECONNRESET,
  EINTR,
  EBADF,
  F_DUPFD_CLOEXEC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  MSG_CMSG_CLOEXEC,
  PR_SET_PDEATHSIG,
  SCM_RIGHTS,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SOCK_STREAM,
  koffi,
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

/** Close each descriptor, ignoring those already closed. */
export function closeFds(fds: Iterable<number>): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
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


// ---- passing file descriptors (SCM_RIGHTS) -------------------------------------

/** Most descriptors one message carries; a process's arguments rarely hold more than a few. */
export const MAX_PASSED_FDS = 64;
const MAX_MESSAGE = 64;
// struct msghdr (56 bytes), struct iovec (16), the bytes, then the control buffer:
// cmsghdr (16) + CMSG_SPACE of the fd array. x86-64 and arm64 share this layout.
const MSG = 0;
const IOV = 56;
const DATA = 72;
const CONTROL = DATA + MAX_MESSAGE;
const CONTROL_SIZE = 16 + 4 * MAX_PASSED_FDS;
const MSG_NOSIGNAL = 0x4000;

interface Scratch {
  address: bigint;
  view: DataView;
  bytes: Uint8Array;
}
let scratchMemory: Scratch | undefined;

/** One native buffer per thread for sendmsg/recvmsg: koffi passes bigints as raw pointers. */
function msgScratch(): Scratch {
  if (scratchMemory) return scratchMemory;
  const k = koffi();
  const size = CONTROL + CONTROL_SIZE;
  const address = k.alloc('uint8', size) as unknown as bigint;
  const buffer = k.view(address, size) as ArrayBuffer;
  return (scratchMemory = { address, view: new DataView(buffer), bytes: new Uint8Array(buffer) });
}

function prepareMessage(s: Scratch, length: number, fdCount: number): void {
  const v = s.view;
  s.bytes.fill(0, 0, DATA);
  v.setBigUint64(MSG + 16, s.address + BigInt(IOV), true); // msg_iov
  v.setBigUint64(MSG + 24, 1n, true); // msg_iovlen
  if (fdCount > 0) {
    v.setBigUint64(MSG + 32, s.address + BigInt(CONTROL), true); // msg_control
    v.setBigUint64(MSG + 40, BigInt(16 + 4 * Math.ceil(fdCount / 2) * 2), true); // msg_controllen: CMSG_SPACE
  }
  v.setBigUint64(IOV, s.address + BigInt(DATA), true); // iov_base
  v.setBigUint64(IOV + 8, BigInt(length), true); // iov_len
}

/**
 * Send `data` (at most 64 bytes) with `fds` attached as SCM_RIGHTS, blocking
 * until it is written. The receiver gets its own copies of the descriptors.
 */
export function sendFds(fd: number, data: Uint8Array, fds: readonly number[]): void {
  if (data.length === 0 || data.length > MAX_MESSAGE) throw new ValueError(`sendFds: 1 to ${MAX_MESSAGE} bytes, not ${data.length}`);
  if (fds.length > MAX_PASSED_FDS) throw new ValueError(`cannot pass more than ${MAX_PASSED_FDS} file descriptors at once`);
  const c = libc();
  const s = msgScratch();
  let sent = 0;
  while (sent < data.length) {
    const withFds = sent === 0 ? fds.length : 0;
    prepareMessage(s, data.length - sent, withFds);
    s.bytes.set(data.subarray(sent), DATA);
    if (withFds > 0) {
      s.bytes.fill(0, CONTROL, CONTROL + CONTROL_SIZE);
      s.view.setBigUint64(CONTROL, BigInt(16 + 4 * withFds), true); // cmsg_len: CMSG_LEN
      s.view.setInt32(CONTROL + 8, SOL_SOCKET, true);
      s.view.setInt32(CONTROL + 12, SCM_RIGHTS, true);
      fds.forEach((f, i) => s.view.setInt32(CONTROL + 16 + 4 * i, f, true));
    }
    const r = Number(c.sendmsg(fd, s.address, MSG_NOSIGNAL));
    if (r >= 0) {
      sent += r;
      continue;
    }
    const e = c.errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) {
      pollFd(fd, 'write', -1);
      continue;
    }
    throw osError(e, 'sendmsg');
  }
}

/**
 * Receive up to `maxBytes` (≤ 64) bytes and the descriptors attached to them
 * (close-on-exec), blocking the thread; null at end of stream.
 */
export function recvFds(fd: number, maxBytes: number): { data: Buffer; fds: number[] } | null {
  const c = libc();
  const s = msgScratch();
  for (;;) {
    prepareMessage(s, Math.min(maxBytes, MAX_MESSAGE), MAX_PASSED_FDS);
    s.view.setBigUint64(MSG + 40, BigInt(CONTROL_SIZE), true);
    const r = Number(c.recvmsg(fd, s.address, MSG_CMSG_CLOEXEC));
    if (r < 0) {
      const e = c.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        pollFd(fd, 'read', -1);
        continue;
      }
      if (e === ECONNRESET) return null;
      throw osError(e, 'recvmsg');
    }
    if (r === 0) return null;
    const fds: number[] = [];
    const controlLength = Number(s.view.getBigUint64(MSG + 40, true));
    for (let at = 0; at + 16 <= controlLength;) {
      const len = Number(s.view.getBigUint64(CONTROL + at, true));
      if (len < 16) break;
      if (s.view.getInt32(CONTROL + at + 8, true) === SOL_SOCKET && s.view.getInt32(CONTROL + at + 12, true) === SCM_RIGHTS) {
        for (let i = 16; i + 4 <= len; i += 4) fds.push(s.view.getInt32(CONTROL + at + i, true));
      }
      at += Math.ceil(len / 8) * 8;
    }
    return { data: Buffer.from(s.bytes.subarray(DATA, DATA + r)), fds };
  }
}
