/**
 * The forkserver process: a Node.js process booted once with the library and
 * the preload modules imported, which forks a child for each request of its
 * parent (CPython's forkserver). It never returns to its event loop: it
 * blocks in poll() on its control socket (fd 3) and on a pidfd per child,
 * answers each fork request with the child's pid, and reports each child's
 * exit code. `serveForks` returns only in a forked child.
 *
 * Requests (parent → server, sendmsg): u32 op, u32 fd count, with the
 * child's control socket and its inherited descriptors as SCM_RIGHTS.
 * Reports (server → parent): frames, see ServerTag.
 */
import * as fs from 'node:fs';
import { closeFds, recvFds, sendFds, socketpair } from '../native/fd.js';
import {
  exitImmediately, forkProcess, pidfdOpen, pollReadable, prepareFork, reapChild, reopenEventLoop,
} from '../native/fork.js';
import { frameHeader } from '../wire/frames.js';
import { becomeChild, markHandedOut } from './forkserver-child.js';

export const enum ServerTag {
  /** The server is ready for requests (payload empty). */
  Ready = 1,
  /** A request was served: i32 pid. */
  Forked = 2,
  /** A request failed: the error message (utf-8). */
  Failed = 3,
  /** A child exited: i32 pid, i32 exit code (−signal when killed). */
  Exited = 4,
}

/** V8 without helper threads: a forked child has none of its parent's threads. */
export const SERVER_V8_FLAG = '--single-threaded';

export const REQUEST_SIZE = 8;
export const OP_FORK = 1;

const CONTROL_FD = 3;

function report(tag: ServerTag, payload: Uint8Array = new Uint8Array(0)): void {
  const frame = Buffer.concat([frameHeader(tag, payload.length), payload]);
  try {
    for (let at = 0; at < frame.length;) at += fs.writeSync(CONTROL_FD, frame, at);
  } catch {
    // The parent is gone (EPIPE): so are we.
    exitImmediately(0);
  }
}

function int32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
}

/** Read one whole request from `fd` (with the descriptors sent along); null at EOF. */
function nextRequest(fd: number): { op: number; fds: number[] } | null {
  const first = recvFds(fd, REQUEST_SIZE);
  if (!first) return null;
  let data = first.data;
  while (data.length < REQUEST_SIZE) {
    const more = recvFds(fd, REQUEST_SIZE - data.length);
    if (!more) return null;
    data = Buffer.concat([data, more.data]);
  }
  return { op: data.readUInt32LE(0), fds: first.fds };
}

/** A forked child that waits for its descriptors on `link` before it becomes anything. */
interface Spare {
  pid: number;
  link: number;
}

/**
 * Children kept forked ahead. The first is forked at once when none is left
 * (a request will want it); the second only once the server has been idle
 * a little, so that the fork does not take a CPU from a child just started,
 * nor delay the report of its exit.
 */
const SPARES = 2;
const IDLE_MS = 3;

/**
 * Serve fork requests until the parent goes away (then exit). The server
 * keeps children forked ahead (spares) and hands one the descriptors of each
 * request, so that a request costs a message, not a fork. Returns only in a
 * spare: the socket on which its descriptors will arrive (see
 * `awaitDescriptors`).
 */
export function serveForks(): number {
  prepareFork();
  const serverPid = process.pid;
  const children = new Map<number, { pid: number; served: boolean }>(); // by pidfd
  const spares: Spare[] = [];
  let spareError = '';
  let lastActivity = 0;

  /** Fork the next spare; in the spare itself, returns its end of the link. */
  const forkSpare = (): number | null => {
    const [link, childLink] = socketpair();
    let pid: number;
    try {
      pid = forkProcess();
    } catch (err) {
      closeFds([link, childLink]);
      spareError = err instanceof Error ? err.message : String(err);
      return null;
    }
    if (pid === 0) {
      becomeChild(serverPid, [CONTROL_FD, link, ...spares.map((s) => s.link), ...children.keys()]);
      return childLink;
    }
    closeFds([childLink]);
    children.set(pidfdOpen(pid), { pid, served: false });
    spares.push({ pid, link });
    return null;
  };

  let inSpare = forkSpare();
  if (inSpare !== null) return inSpare;
  report(ServerTag.Ready);
  for (;;) {
    if (spares.length === 0 && (inSpare = forkSpare()) !== null) return inSpare;
    const watched = [CONTROL_FD, ...children.keys()];
    const wait = spares.length >= SPARES ? -1 : Math.max(0, Math.ceil(lastActivity + IDLE_MS - performance.now()));
    const ready = pollReadable(watched, wait);
    if (ready.length === 0) {
      if (spares.length < SPARES && (inSpare = forkSpare()) !== null) return inSpare;
      continue;
    }
    lastActivity = performance.now();
    for (const i of ready) {
      if (i > 0) {
        const pidfd = watched[i]!;
        const child = children.get(pidfd)!;
        const code = reapChild(child.pid);
        if (code === null) continue;
        children.delete(pidfd);
        closeFds([pidfd]);
        if (child.served) report(ServerTag.Exited, int32s(child.pid, code));
        const k = spares.findIndex((s) => s.pid === child.pid);
        if (k >= 0) closeFds([spares.splice(k, 1)[0]!.link]);
        continue;
      }
      // The parent is gone: so are we, and our children with us (their parent-death signal).
      const request = nextRequest(CONTROL_FD);
      if (!request) exitImmediately(0);
      if (spares.length === 0 && (inSpare = forkSpare()) !== null) return inSpare;
      const taken = spares.shift();
      if (request.op !== OP_FORK || request.fds.length === 0 || !taken) {
        closeFds(request.fds);
        if (taken) closeFds([taken.link]);
        report(ServerTag.Failed, Buffer.from(taken ? `bad forkserver request (op ${request.op})` : spareError));
        continue;
      }
      // The answer first: the parent is blocked on it, and the spare, once woken, may take our CPU.
      for (const child of children.values()) if (child.pid === taken.pid) child.served = true;
      report(ServerTag.Forked, int32s(taken.pid));
      const header = Buffer.alloc(REQUEST_SIZE);
      header.writeUInt32LE(OP_FORK, 0);
      header.writeUInt32LE(request.fds.length, 4);
      try {
        sendFds(taken.link, header, request.fds);
      } catch {
        // The spare died under us: its exit is reported like any child's, and its parent sees it end.
        process.kill(taken.pid, 'SIGKILL');
      } finally {
        closeFds([taken.link, ...request.fds]);
      }
    }
  }
}

/** In a spare: whether its descriptors have already arrived (it was forked for a waiting request). */
export function descriptorsWaiting(link: number): boolean {
  return pollReadable([link], 0).length > 0;
}

/**
 * In a spare: block until the server hands over this child's descriptors
 * (its control socket first). A spare nobody will use ends here.
 */
export function awaitDescriptors(link: number): number[] {
  const given = nextRequest(link);
  markHandedOut();
  closeFds([link]);
  if (!given || given.fds.length === 0) exitImmediately(0);
  return given.fds;
}
