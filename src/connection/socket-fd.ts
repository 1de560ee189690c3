/**
 * Turning a connected `net.Socket` into an fd that a Connection owns: the fd
 * is duplicated (close-on-exec) and the socket's own handle closed, so one
 * framing implementation (FrameChannel) reads every connection, whether it
 * came from Pipe(), Listener.accept() or Client().
 *
 * The socket must never have started reading (pauseOnConnect, or taken on
 * 'connect'), or bytes it read would be lost.
 *
 * TODO(lead): move `dupCloexec` into native/fd.ts (an `fcntl` binding in libc.ts).
 */
import type * as net from 'node:net';
import { OSError } from '../errors.js';
import { koffi } from '../native/libc.js';

const F_DUPFD_CLOEXEC = 1030;

let fcntl: ((fd: number, cmd: number, arg: number) => number) | undefined;

function dupCloexec(fd: number): number {
  if (!fcntl) {
    const k = koffi();
    let lib;
    try { lib = k.load('libc.so.6'); } catch { lib = k.load('libc.so'); }
    // fcntl is variadic; an int third argument travels like a fixed one on the Linux x86-64/AArch64 ABIs.
    fcntl = lib.func('int fcntl(int fd, int cmd, int arg)') as unknown as (fd: number, cmd: number, arg: number) => number;
  }
  const r = fcntl!(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) throw new OSError(`fcntl(F_DUPFD_CLOEXEC) failed: errno ${koffi().errno()}`);
  return r;
}

/** Take the socket's fd over (a duplicate of it), destroying the socket. */
export function takeSocketFd(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    socket.destroy();
    throw new OSError('cannot take over the socket: it has no file descriptor');
  }
  try {
    return dupCloexec(fd);
  } finally {
    socket.destroy();
  }
}
