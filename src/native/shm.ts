/**
 * POSIX shared memory segments: shm_open + mmap(MAP_SHARED), seen from JS as an
 * external ArrayBuffer over the mapping.
 *
 * Node cannot detach such a buffer, so a view kept after unmap() would point at
 * freed address space. unmap() therefore does not munmap: it replaces the
 * shared mapping in place with private anonymous memory (MAP_FIXED). The segment
 * is released at once; a stale view reads zeros and writes to private pages
 * instead of crashing the process. The address range itself is munmap'ed when
 * the ArrayBuffer is garbage collected. Callers must still drop their views
 * before unmap(): data written through a stale view goes nowhere.
 */
import { kMaxLength } from 'node:buffer';
import { ValueError } from '../errors.js';
import {
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CREAT,
  O_EXCL,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SEEK_END,
  koffi,
  libc,
  osError,
} from './libc.js';

export interface Segment {
  /** The POSIX name, with its leading '/'. */
  readonly name: string;
  /** Mapped length in bytes. */
  readonly size: number;
  /** The mapping; throws ValueError once unmapped. */
  readonly buffer: ArrayBuffer;
  /** Start address of the mapping (for futexes). */
  readonly address: bigint;
  readonly closed: boolean;
  /** Release the mapping; idempotent. Drop every view of `buffer` first. */
  unmap(): void;
}

export interface MapOptions {
  /** Create the segment (zero-filled) instead of attaching to an existing one. */
  create: boolean;
  /** With create: fail with EEXIST if the name exists (default true, as Python). */
  exclusive?: boolean;
}

/** Python's rule: names get a leading '/'; no other '/' is allowed. */
export function segmentName(name: string): string {
  const full = name.startsWith('/') ? name : '/' + name;
  if (full.length < 2 || full.includes('/', 1) || full.includes('\0')) {
    throw new ValueError(`invalid shared memory name: '${name}'`);
  }
  return full;
}

// The address range stays reserved until the buffer is collected; see the header.
const reclaim = new FinalizationRegistry<{ address: bigint; size: number }>(({ address, size }) => {
  libc().munmap(address, size);
});

/** Map a shared memory segment by name. With `size` 0, attach uses the segment's size. */
export function mapSegment(name: string, size: number, opts: MapOptions): Segment {
  const path = segmentName(name);
  if (!Number.isSafeInteger(size) || size < 0) throw new ValueError(`'size' must be a non-negative integer, got ${size}`);
  if (opts.create && size === 0) throw new ValueError("'size' must be a positive number different from zero");
  // A mapping larger than an ArrayBuffer can be cannot be seen from JS (and koffi aborts the process).
  if (size > kMaxLength) throw new ValueError(`'size' must be at most ${kMaxLength} bytes, got ${size}`);
  const exclusive = opts.create && opts.exclusive !== false;
  const c = libc();

  const fd = c.shm_open(path, O_RDWR | (opts.create ? O_CREAT : 0) | (exclusive ? O_EXCL : 0), 0o600);
  if (fd < 0) throw osError(c.errno(), 'shm_open', path);
  let address: bigint;
  try {
    const current = c.lseek(fd, 0, SEEK_END);
    if (current < 0) throw osError(c.errno(), 'lseek', path);
    // Growing with ftruncate zero-fills; never shrink a segment others may use.
    if (opts.create && current < size && c.ftruncate(fd, size) < 0) throw osError(c.errno(), 'ftruncate', path);
    const length = size || current;
    if (length === 0) throw new ValueError(`cannot map empty shared memory segment '${path}'`);
    if (length > kMaxLength) throw new ValueError(`segment '${path}' has ${length} bytes, more than can be mapped (${kMaxLength})`);
    if (!opts.create && length > current) {
      // Touching pages past the end of the object would raise SIGBUS.
      throw new ValueError(`segment '${path}' has ${current} bytes, fewer than the ${size} requested`);
    }
    address = c.mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address === MAP_FAILED) throw osError(c.errno(), 'mmap', path);
    size = length;
  } catch (err) {
    if (exclusive) c.shm_unlink(path); // ours alone: do not leave it behind
    throw err;
  } finally {
    c.close(fd);
  }
  return new MappedSegment(path, size, address);
}

class MappedSegment implements Segment {
  #buffer: ArrayBuffer | undefined;

  constructor(
    readonly name: string,
    readonly size: number,
    readonly address: bigint,
  ) {
    this.#buffer = koffi().view(address, size);
    reclaim.register(this.#buffer, { address, size });
  }

  get buffer(): ArrayBuffer {
    if (this.#buffer === undefined) throw new ValueError(`segment '${this.name}' is unmapped`);
    return this.#buffer;
  }

  get closed(): boolean {
    return this.#buffer === undefined;
  }

  unmap(): void {
    if (this.#buffer === undefined) return;
    const c = libc();
    const r = c.mmap(this.address, this.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (r === MAP_FAILED) throw osError(c.errno(), 'mmap', this.name);
    this.#buffer = undefined;
  }
}

/** Remove the name; mappings stay valid until unmapped. */
export function unlinkSegment(name: string): void {
  const path = segmentName(name);
  const c = libc();
  if (c.shm_unlink(path) < 0) throw osError(c.errno(), 'shm_unlink', path);
}
