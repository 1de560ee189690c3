/**
 * SharedMemory and ShareableList (CPython's multiprocessing.shared_memory),
 * over POSIX shared memory. Created segments are registered with the
 * resource tracker (unless `track: false`), so a tree that crashes leaves
 * nothing in /dev/shm; attaching does not register (unlike CPython 3.12,
 * whose attaching processes could unlink a segment another tree still used).
 * ShareableList keeps CPython's memory layout.
 */
import { OSError, ProcessError, TypeError, ValueError } from './errors.js';
import { mapSegment, unlinkSegment, type Segment } from './native/backend.js';
import { register, unregister } from './resource-tracker.js';
import { IndexError } from './sharedctypes.js';
import { registerReducer } from './wire/codec.js';

/** Python's FileExistsError: creating a segment whose name exists. */
export class FileExistsError extends OSError {}
/** Python's FileNotFoundError: attaching to or unlinking a name that does not exist. */
export class FileNotFoundError extends OSError {}
/** Python's KeyError (ShareableList of an unsupported item type). */
export class KeyError extends ProcessError {}

function translate(err: unknown): unknown {
  const errno = (err as OSError)?.errno;
  if (errno === 'EEXIST') return new FileExistsError((err as Error).message, { errno, cause: err });
  if (errno === 'ENOENT') return new FileNotFoundError((err as Error).message, { errno, cause: err });
  return err;
}

export interface SharedMemoryOptions {
  /** The segment's name (without or with the leading '/'); generated ('psm_…') when creating without one. */
  name?: string | null;
  create?: boolean;
  /** Bytes, for create; ignored when attaching (the segment's own size is used). */
  size?: number;
  /** Register a created segment with the resource tracker (default true). */
  track?: boolean;
}

/** A named block of shared memory any process can attach to by name. */
export class SharedMemory {
  #segment: Segment | null;
  #buf: Buffer | null;
  readonly #name: string;
  readonly #track: boolean;

  constructor(opts: SharedMemoryOptions = {}) {
    const { create = false, size = 0, track = true } = opts;
    let name = opts.name ?? null;
    if (!(typeof size === 'number' && size >= 0)) throw new ValueError("'size' must be a positive integer");
    if (create && size === 0) throw new ValueError("'size' must be a positive number different from zero");
    if (name !== null && typeof name !== 'string') throw new TypeError(`'name' must be a string, not ${typeof name}`);
    if (name === null && !create) throw new ValueError("'name' can only be None if create=True");
    if (name !== null && name.includes('\0')) throw new ValueError('embedded null character');
    this.#track = track;
    let segment: Segment;
    if (create) {
      const generated = name === null;
      for (let attempt = 0; ; attempt++) {
        const candidate = generated ? `psm_${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')}` : name!;
        if (track) register(candidate);
        try {
          segment = mapSegment(candidate, size, { create: true });
          break;
        } catch (err) {
          if (track) unregister(candidate);
          if (!generated || (err as OSError).errno !== 'EEXIST' || attempt > 100) throw translate(err);
        }
      }
    } else {
      try {
        segment = mapSegment(name!, 0, { create: false });
      } catch (err) {
        throw translate(err);
      }
    }
    this.#segment = segment;
    this.#name = segment.name.slice(1);
    this.#buf = Buffer.from(segment.buffer, 0, segment.size);
  }

  /** The segment's name, without the leading '/'. */
  get name(): string {
    return this.#name;
  }

  get size(): number {
    if (!this.#segment) throw new ValueError('SharedMemory is closed');
    return this.#segment.size;
  }

  /** The mapped bytes; throws ValueError after close() (Python returns None). */
  get buf(): Buffer {
    if (!this.#buf) throw new ValueError('SharedMemory is closed');
    return this.#buf;
  }

  get closed(): boolean {
    return this.#segment === null;
  }

  /** Unmap this process's view (idempotent); the segment stays until unlink(). */
  close(): void {
    if (!this.#segment) return;
    this.#buf = null;
    this.#segment.unmap();
    this.#segment = null;
  }

  /** Remove the name (once, from any process): FileNotFoundError when already removed. */
  unlink(): void {
    try {
      unlinkSegment(this.#name);
    } catch (err) {
      throw translate(err);
    }
    if (this.#track) unregister(this.#name);
  }

  toString(): string {
    return `SharedMemory('${this.#name}', size=${this.#segment?.size ?? 0})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

registerReducer(SharedMemory, 'SharedMemory', {
  reduce: (shm) => shm.name,
  rebuild: (name: string) => new SharedMemory({ name }),
});

// ---- ShareableList ----------------------------------------------------------------------

/** What a ShareableList holds. */
export type ShareableItem = number | bigint | boolean | string | Buffer | null;

const ALIGN = 8;
const FMT_BOOL = 'xxxxxxx?';
const FMT_NONE = 'xxxxxx?x';
enum Back { Value = 0, Str = 1, Bytes = 2, None = 3 }

function formatOf(item: unknown): [string, Back, number] {
  if (typeof item === 'bigint') return ['q', Back.Value, 8];
  if (typeof item === 'number') return [Number.isSafeInteger(item) ? 'q' : 'd', Back.Value, 8];
  if (typeof item === 'boolean') return [FMT_BOOL, Back.Value, 8];
  if (item === null || item === undefined) return [FMT_NONE, Back.None, 8];
  if (typeof item === 'string' || item instanceof Uint8Array) {
    const n = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
    const cap = ALIGN * (Math.floor(n / ALIGN) + 1);
    return [`${cap}s`, typeof item === 'string' ? Back.Str : Back.Bytes, cap];
  }
  const type = item === null ? 'NoneType' : typeof item === 'object' ? (item as object).constructor?.name ?? 'object' : typeof item;
  throw new KeyError(`<class '${type}'>`);
}

/** A fixed-length list in shared memory, laid out as CPython's (a Python process can attach to it). */
export class ShareableList<T extends ShareableItem = ShareableItem> {
  readonly shm: SharedMemory;
  #length: number;
  #offsets: number[];

  constructor(sequence?: Iterable<T> | null, opts: { name?: string | null } = {}) {
    const name = opts.name ?? null;
    if (sequence !== undefined && sequence !== null && typeof (sequence as Iterable<T>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`ShareableList needs an iterable, not ${typeof sequence}`);
    }
    if (name === null || (sequence !== undefined && sequence !== null)) {
      const items = [...(sequence ?? [])];
      const formats = items.map(formatOf);
      this.#length = items.length;
      this.#offsets = [0];
      let offset = 0;
      for (const [, , bytes] of formats) this.#offsets.push((offset += bytes));
      const size = 8 + 8 * (this.#length + 1) + offset + 8 * this.#length + this.#length;
      this.shm = new SharedMemory({ name, create: true, size });
      const dv = this.#dv();
      dv.setBigInt64(0, BigInt(this.#length), true);
      this.#offsets.forEach((o, k) => dv.setBigInt64(8 + 8 * k, BigInt(o), true));
      items.forEach((item, k) => {
        const [fmt, back] = formats[k]!;
        this.#setFormat(k, fmt, back);
        this.#write(k, fmt, item);
      });
    } else {
      this.shm = new SharedMemory({ name });
      const dv = this.#dv();
      this.#length = Number(dv.getBigInt64(0, true));
      this.#offsets = Array.from({ length: this.#length + 1 }, (_, k) => Number(dv.getBigInt64(8 + 8 * k, true)));
    }
  }

  #dv(): DataView {
    const b = this.shm.buf;
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get #dataStart(): number {
    return (this.#length + 2) * 8;
  }
  get #formatsStart(): number {
    return this.#dataStart + this.#offsets[this.#length]!;
  }
  get #backStart(): number {
    return this.#formatsStart + this.#length * 8;
  }

  #format(k: number): string {
    const at = this.#formatsStart + k * 8;
    return this.shm.buf.subarray(at, at + 8).toString('utf8').replace(/\0+$/, '');
  }
  #setFormat(k: number, fmt: string, back: Back): void {
    const at = this.#formatsStart + k * 8;
    const buf = this.shm.buf;
    buf.fill(0, at, at + 8);
    buf.write(fmt, at, 8, 'utf8');
    buf.writeInt8(back, this.#backStart + k);
  }

  #write(k: number, fmt: string, item: unknown): void {
    const at = this.#dataStart + this.#offsets[k]!;
    const buf = this.shm.buf;
    if (fmt === 'q') buf.writeBigInt64LE(BigInt(item as number | bigint), at);
    else if (fmt === 'd') buf.writeDoubleLE(item as number, at);
    else if (fmt === FMT_BOOL) buf.fill(0, at, at + 8).writeUInt8(item ? 1 : 0, at + 7);
    else if (fmt === FMT_NONE) buf.fill(0, at, at + 8);
    else {
      const cap = parseInt(fmt, 10);
      const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : Buffer.from(item as Uint8Array);
      buf.fill(0, at, at + cap);
      bytes.copy(buf, at);
    }
  }

  get length(): number {
    return this.#length;
  }

  #position(i: number, message: string): number {
    const k = i < 0 ? i + this.#length : i;
    if (!Number.isInteger(k) || k < 0 || k >= this.#length) throw new IndexError(message);
    return k;
  }

  get(i: number): T {
    const k = this.#position(i, 'index out of range');
    const fmt = this.#format(k);
    const back = this.shm.buf.readInt8(this.#backStart + k) as Back;
    const at = this.#dataStart + this.#offsets[k]!;
    const buf = this.shm.buf;
    if (back === Back.None) return null as T;
    if (fmt === 'q') {
      const v = buf.readBigInt64LE(at);
      return (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v) as T;
    }
    if (fmt === 'd') return buf.readDoubleLE(at) as T;
    if (fmt === FMT_BOOL) return (buf[at + 7] !== 0) as T;
    const cap = parseInt(fmt, 10);
    let end = at + cap;
    while (end > at && buf[end - 1] === 0) end--;
    const bytes = Buffer.from(buf.subarray(at, end));
    return (back === Back.Str ? bytes.toString('utf8') : bytes) as T;
  }

  set(i: number, value: T): void {
    const k = this.#position(i, 'assignment index out of range');
    const current = this.#format(k);
    let [fmt, back] = formatOf(value);
    if (typeof value === 'string' || value instanceof Uint8Array) {
      const allocated = this.#offsets[k + 1]! - this.#offsets[k]!;
      const n = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      if (n > allocated) throw new ValueError('bytes/str item exceeds available storage');
      fmt = current.endsWith('s') ? current : `${allocated}s`;
    }
    this.#setFormat(k, fmt, back);
    this.#write(k, fmt, value);
  }

  /** The struct format of the items, as CPython's (e.g. '8s8sdqxxxxxx?xxxxxxxx?q'). */
  get format(): string {
    return Array.from({ length: this.#length }, (_, k) => this.#format(k)).join('');
  }

  count(value: T): number {
    let n = 0;
    for (const item of this) if (same(item, value)) n++;
    return n;
  }

  index(value: T): number {
    let k = 0;
    for (const item of this) {
      if (same(item, value)) return k;
      k++;
    }
    throw new ValueError(`${typeof value === 'string' ? `'${value}'` : String(value)} not in this container`);
  }

  toArray(): T[] {
    return Array.from({ length: this.#length }, (_, k) => this.get(k));
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let k = 0; k < this.#length; k++) yield this.get(k);
  }

  toString(): string {
    const items = this.toArray().map((v) => (typeof v === 'string' ? `'${v}'` : v === null ? 'None' : String(v)));
    return `ShareableList([${items.join(', ')}], name='${this.shm.name}')`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  // Python: 1 == 1.0 == True.
  if ((typeof a === 'number' || typeof a === 'bigint' || typeof a === 'boolean') &&
      (typeof b === 'number' || typeof b === 'bigint' || typeof b === 'boolean')) {
    return Number(a) === Number(b);
  }
  return a === b;
}

registerReducer(ShareableList, 'ShareableList', {
  reduce: (sl) => sl.shm.name,
  rebuild: (name: string) => new ShareableList(null, { name }),
});
