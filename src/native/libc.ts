/**
 * The libc surface of the native backend, bound through koffi once and lazily.
 *
 * Linux only (x64 and arm64): importing this module never fails, so that other
 * platforms can still load the package; the first call of `libc()` throws an
 * OSError naming the unsupported platform.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';
import { OSError } from '../errors.js';

type Koffi = typeof import('koffi').default;
let koffiModule: Koffi | undefined;

/**
 * koffi itself, required lazily: its native addon may not exist for an exotic
 * platform, and merely importing billiard must still work there.
 */
export function koffi(): Koffi {
  if (koffiModule === undefined) {
    const bad = unsupportedPlatform();
    if (bad !== undefined) {
      throw new OSError(
        `billiard's native backend (shared memory, futexes) supports Linux on x64 and arm64 only, not ${bad}`,
        { errno: 'ENOSYS' },
      );
    }
    koffiModule = createRequire(import.meta.url)('koffi') as Koffi;
  }
  return koffiModule;
}

/** Syscall numbers differ per architecture (asm/unistd.h). */
const SYSCALLS = {
  x64: { futex: 202, futex_waitv: 449, gettid: 186, pidfd_open: 434 },
  arm64: { futex: 98, futex_waitv: 449, gettid: 178, pidfd_open: 434 },
} as const;

// Values shared by x86-64 and arm64 Linux (the generic ABI).
export const O_RDONLY = 0o0;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_FAILED = 0xffffffffffffffffn;
export const SEEK_END = 2;
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const PR_SET_PDEATHSIG = 1;
export const F_DUPFD_CLOEXEC = 1030;
export const CLOCK_MONOTONIC = 1;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const MADV_DOFORK = 11;
export const WNOHANG = 1;

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_BITSET_MATCH_ANY = -1; // 0xffffffff as a C int
/** futex_waitv per-waiter flags (linux/futex.h). */
export const FUTEX2_SIZE_U32 = 0x02;
export const FUTEX2_PRIVATE = FUTEX_PRIVATE_FLAG;
/** The kernel's limit on waiters per futex_waitv call. */
export const FUTEX_WAITV_MAX = 128;

type Ptr = bigint | null | ArrayBufferView | ArrayBuffer;

/** The bound functions. Pointers are bigints (koffi 3) or buffers. */
export interface Libc {
  shm_open(name: string, oflag: number, mode: number): number;
  shm_unlink(name: string): number;
  ftruncate(fd: number, length: number): number;
  lseek(fd: number, offset: number, whence: number): number;
  mmap(addr: bigint | null, length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): number;
  close(fd: number): number;
  /** fcntl(fd, cmd, int arg): the int-argument commands only. */
  fcntl(fd: number, cmd: number, arg: number): number;
  socketpair(domain: number, type: number, protocol: number, sv: Int32Array): number;
  poll(fds: Ptr, nfds: number, timeout: number): number;
  prctl(option: number, arg2: number, arg3: number, arg4: number, arg5: number): number;
  getpid(): number;
  getppid(): number;
  strerror(errnum: number): string;
  /** syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3) */
  futex(uaddr: Ptr, op: number, val: number, timeout: Ptr, uaddr2: Ptr, val3: number): number;
  /** syscall(SYS_futex_waitv, waiters, nr, flags, timeout, clockid) */
  futexWaitv(waiters: Ptr, nr: number, flags: number, timeout: Ptr, clockid: number): number;
  gettid(): number;
  fork(): number;
  _exit(status: number): void;
  /** madvise with the address as a number (user-space addresses are below 2^47). */
  madvise(addr: number, length: number, advice: number): number;
  /** waitpid(pid, &status, options); status lands in status[0]. */
  waitpid(pid: number, status: Int32Array, options: number): number;
  sendmsg(fd: number, msghdr: bigint, flags: number): number;
  recvmsg(fd: number, msghdr: bigint, flags: number): number;
  /** syscall(SYS_pidfd_open, pid, 0): an fd that polls readable once `pid` has exited. */
  pidfdOpen(pid: number): number;
  /** errno of the last call on this thread. */
  errno(): number;
}

let bound: Libc | undefined;

/** The libc bindings; throws OSError on an unsupported platform. */
export function libc(): Libc {
  return (bound ??= bind());
}

export function unsupportedPlatform(): string | undefined {
  if (process.platform !== 'linux') return `${process.platform}/${process.arch}`;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `linux/${process.arch}`;
  return undefined;
}

function loadFirst(names: string[]): LibraryHandle {
  let last: unknown;
  for (const name of names) {
    try {
      return koffi().load(name);
    } catch (err) {
      last = err;
    }
  }
  throw new OSError(`cannot load the C library (${names.join(', ')})`, { cause: last });
}

function bind(): Libc {
  const k = koffi();
  const nr = SYSCALLS[process.arch as 'x64' | 'arm64'];
  // glibc first, then musl's names.
  const lib = loadFirst(['libc.so.6', `libc.musl-${process.arch === 'x64' ? 'x86_64' : 'aarch64'}.so.1`, 'libc.so']);
  // glibc < 2.34 keeps shm_open in librt.
  let shmLib = lib;
  try {
    lib.func('int shm_open(const char *name, int oflag, uint32_t mode)');
  } catch {
    shmLib = loadFirst(['librt.so.1']);
  }

  // syscall(2) is variadic; on the x86-64 and AArch64 Linux ABIs variadic integer
  // arguments travel exactly like fixed ones, so fixed prototypes are safe and
  // avoid koffi's slower variadic path.
  const futex = lib.func('syscall', 'long', ['long', 'void *', 'int', 'int', 'void *', 'void *', 'int']);
  const futexWaitv = lib.func('syscall', 'long', ['long', 'void *', 'uint', 'uint', 'void *', 'int']);
  const sys0 = lib.func('syscall', 'long', ['long']);
  const sys2 = lib.func('syscall', 'long', ['long', 'long', 'long']);

  return {
    shm_open: shmLib.func('int shm_open(const char *name, int oflag, uint32_t mode)'),
    shm_unlink: shmLib.func('int shm_unlink(const char *name)'),
    ftruncate: lib.func('int ftruncate(int fd, int64_t length)'),
    lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)'),
    mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: lib.func('int munmap(void *addr, size_t length)'),
    close: lib.func('int close(int fd)'),
    // Variadic, called with one int: passed like a fixed argument on both ABIs (see syscall above).
    fcntl: lib.func('fcntl', 'int', ['int', 'int', 'int']),
    socketpair: lib.func('int socketpair(int domain, int type, int protocol, int *sv)'),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
    getpid: lib.func('int getpid()'),
    getppid: lib.func('int getppid()'),
    strerror: lib.func('const char *strerror(int errnum)'),
    futex: (uaddr, op, val, timeout, uaddr2, val3) => futex(nr.futex, uaddr, op, val, timeout, uaddr2, val3),
    futexWaitv: (waiters, n, flags, timeout, clockid) => futexWaitv(nr.futex_waitv, waiters, n, flags, timeout, clockid),
    gettid: () => sys0(nr.gettid),
    fork: lib.func('int fork()'),
    _exit: lib.func('void _exit(int status)'),
    madvise: lib.func('int madvise(uintptr_t addr, size_t length, int advice)'),
    waitpid: lib.func('int waitpid(int pid, int *status, int options)'),
    sendmsg: lib.func('long sendmsg(int fd, void *msg, int flags)'),
    recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)'),
    pidfdOpen: (pid) => sys2(nr.pidfd_open, pid, 0),
    errno: () => k.errno(),
  };
}

let names: Map<number, string> | undefined;

/** 'EEXIST' for 17, etc. */
export function errnoName(errno: number): string {
  if (names === undefined) {
    names = new Map();
    // First name wins for aliases: EAGAIN, not EWOULDBLOCK.
    for (const [name, n] of Object.entries(koffi().os.errno)) if (!names.has(n)) names.set(n, name);
  }
  return names.get(errno) ?? `E${errno}`;
}

// errno values the backend branches on (identical on x86-64 and arm64).
export const ENOENT = 2;
export const EINTR = 4;
export const ENOMEM = 12;
export const ECHILD = 10;
export const EBADF = 9;
export const EAGAIN = 11;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSYS = 38;
export const ECONNRESET = 104;
export const ETIMEDOUT = 110;

/**
 * An OSError worded like Python's: "[Errno 17] File exists: '/name'"; without a
 * filename, "<what>: [Errno 4] Interrupted system call".
 */
export function osError(errno: number, what: string, filename?: string): OSError {
  const text = `[Errno ${errno}] ${libc().strerror(errno)}`;
  const message = filename === undefined ? `${what}: ${text}` : `${text}: '${filename}'`;
  return new OSError(message, { errno: errnoName(errno) });
}
