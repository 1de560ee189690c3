/**
 * Lock, RLock, Semaphore, BoundedSemaphore: CPython's SemLock family, over a
 * 16-byte block of the shared heap each.
 *
 * Lock/RLock: word 0 is the lock word (see common.ts), word 1 the RLock's
 * recursion count. Semaphore: word 0 the value, word 1 the number of
 * sleepers, word 2 the maximum (BoundedSemaphore).
 *
 * Owner death: a waiter re-checks every SLICE_MS whether the owner (a thread
 * id) still lives; if not, it takes the lock over. `ownerDied` then reads
 * true on the handle that acquired it, like EOWNERDEAD of a robust pthread
 * mutex: whatever the lock protected may be half-updated.
 */
import { AssertionError, OSError, ValueError } from '../errors.js';
import { allocate, attach, refOf, type Block, type BlockRef } from '../heap.js';
import { currentProcess } from '../process/process.js';
import { registerReducer } from '../wire/codec.js';
import {
  ACQUIRED, OWNER, RESOLVED_FALSE, RESOLVED_TRUE, STOLEN, deadlineOf, describeOwner, lockWordAsync, lockWordSync,
  me, sleepAsync, sleepSync, sliceLeft, unlockWord, wake, type AcquireOptions,
} from './common.js';

export type { AcquireOptions };

const SEM_VALUE_MAX = 0x7fffffff;
const TOO_MANY = 'semaphore or lock released too many times';

let attaching: Block | null = null;
function blockFor(owner: object, size = 16): Block {
  const b = attaching;
  attaching = null;
  return b ?? allocate(size, owner);
}
/** Build an instance of `cls` over an existing block (a received object). */
function rebuildOn<T>(block: Block, make: () => T): T {
  attaching = block;
  try {
    return make();
  } finally {
    attaching = null;
  }
}

/** Scoped ownership: `using _ = lock.holdSync()`. */
export interface Held extends Disposable {
  release(): void;
}

function holdOf(release: () => void): Held {
  let done = false;
  const r = () => {
    if (done) return;
    done = true;
    release();
  };
  return { release: r, [Symbol.dispose]: r };
}

/** Interface Lock and RLock share (what Condition, Value and Array accept). */
export interface LockLike {
  acquire(opts?: AcquireOptions): Promise<boolean>;
  acquireSync(opts?: AcquireOptions): boolean;
  release(): void;
  /** @internal */ _isMine(): boolean;
  /** @internal release completely; returns what _restore needs */ _releaseAll(): number;
  /** @internal */ _restoreSync(saved: number): void;
  /** @internal */ _restore(saved: number): Promise<void>;
}

abstract class LockBase {
  /** @internal */ readonly _block: Block;
  protected readonly a: Int32Array;
  protected readonly i: number;
  protected died = false;

  constructor() {
    this._block = blockFor(this);
    this.a = this._block.arena.i32;
    this.i = this._block.offset >> 2;
  }

  /**
   * True when the last successful acquire through this object took the lock
   * over from a thread or process that died holding it (robust-mutex
   * EOWNERDEAD): the data the lock protects may be inconsistent.
   */
  get ownerDied(): boolean {
    return this.died;
  }

  abstract acquire(opts?: AcquireOptions): Promise<boolean>;
  abstract acquireSync(opts?: AcquireOptions): boolean;
  abstract release(): void;

  /** Run `fn` holding the lock (Python's `with lock:`). */
  withLock<R>(fn: () => R | Promise<R>): Promise<Awaited<R>> {
    return runHolding(this, fn);
  }

  /** Acquire, blocking the thread; release when the returned handle is disposed. */
  holdSync(): Held {
    return holdSyncOf(this);
  }

  /** @internal */
  _isMine(): boolean {
    return (Atomics.load(this.a, this.i) & OWNER) === me();
  }
}

/** A non-recursive lock shared by processes and threads (CPython's multiprocessing.Lock). */
export class Lock extends LockBase implements LockLike {
  /** Acquire; resolves false when `block` is false or `timeout` ms pass first. */
  acquire(opts?: AcquireOptions): Promise<boolean> {
    // Options are checked first: a bad timeout is an error even when the lock is free.
    const deadline = deadlineOf(opts);
    if (Atomics.compareExchange(this.a, this.i, 0, me()) === 0) {
      if (this.died) this.died = false;
      return RESOLVED_TRUE;
    }
    return lockWordAsync(this._block.arena, this.i, deadline).then((r) => this.#got(r));
  }

  /** Acquire, blocking the calling thread. */
  acquireSync(opts?: AcquireOptions): boolean {
    const deadline = deadlineOf(opts);
    if (Atomics.compareExchange(this.a, this.i, 0, me()) === 0) {
      if (this.died) this.died = false;
      return true;
    }
    return this.#got(lockWordSync(this._block.arena, this.i, deadline));
  }

  #got(r: number): boolean {
    if (r === 0) return false;
    this.died = r === STOLEN;
    return true;
  }

  /** Release; any process or thread may (as CPython). Throws ValueError when not locked. */
  release(): void {
    const self = me();
    if (Atomics.compareExchange(this.a, this.i, self, 0) === self) return; // uncontended
    if (!unlockWord(this._block.arena, this.i)) throw new ValueError(TOO_MANY);
  }

  /** @internal */
  _releaseAll(): number {
    this.release();
    return 1;
  }
  /** @internal */
  _restoreSync(): void {
    this.acquireSync();
  }
  /** @internal */
  async _restore(): Promise<void> {
    await this.acquire();
  }

  override toString(): string {
    const owner = Atomics.load(this.a, this.i) & OWNER;
    return `<Lock(owner=${describeOwner(owner, () => currentProcess().name)})>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(block: Block): Lock {
    return rebuildOn(block, () => new Lock());
  }
}

/** A re-entrant lock: owned by one thread of one process, acquired again by it freely. */
export class RLock extends LockBase implements LockLike {
  acquire(opts?: AcquireOptions): Promise<boolean> {
    const deadline = deadlineOf(opts);
    return this.#fast() ? RESOLVED_TRUE : lockWordAsync(this._block.arena, this.i, deadline).then((r) => this.#got(r));
  }

  acquireSync(opts?: AcquireOptions): boolean {
    const deadline = deadlineOf(opts);
    return this.#fast() || this.#got(lockWordSync(this._block.arena, this.i, deadline));
  }

  #fast(): boolean {
    const self = me();
    const v = Atomics.load(this.a, this.i);
    if ((v & OWNER) === self) {
      this.a[this.i + 1]!++;
      return true;
    }
    if (v === 0 && Atomics.compareExchange(this.a, this.i, 0, self) === 0) {
      this.a[this.i + 1] = 1;
      this.died = false;
      return true;
    }
    return false;
  }

  #got(r: number): boolean {
    if (r === 0) return false;
    this.a[this.i + 1] = 1;
    this.died = r === STOLEN;
    return true;
  }

  /** Release one level; throws AssertionError unless this thread owns it. */
  release(): void {
    if (!this._isMine()) throw new AssertionError('attempt to release recursive lock not owned by thread');
    const count = this.a[this.i + 1]!;
    if (count > 1) {
      this.a[this.i + 1] = count - 1;
      return;
    }
    this.a[this.i + 1] = 0;
    unlockWord(this._block.arena, this.i);
  }

  /** @internal */
  _releaseAll(): number {
    const count = this.a[this.i + 1]!;
    this.a[this.i + 1] = 1;
    this.release();
    return count;
  }
  /** @internal */
  _restoreSync(saved: number): void {
    this.acquireSync();
    this.a[this.i + 1] = saved;
  }
  /** @internal */
  async _restore(saved: number): Promise<void> {
    await this.acquire();
    this.a[this.i + 1] = saved;
  }

  override toString(): string {
    const owner = Atomics.load(this.a, this.i) & OWNER;
    const count = owner === 0 ? 0 : this.a[this.i + 1];
    return `<RLock(${describeOwner(owner, () => currentProcess().name)}, ${count})>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(block: Block): RLock {
    return rebuildOn(block, () => new RLock());
  }
}

const VALUE = 0;
const SLEEPERS = 1;
const MAX = 2;

/** A counting semaphore shared by processes and threads. */
export class Semaphore {
  /** @internal */ readonly _block: Block;
  protected readonly a: Int32Array;
  protected readonly i: number;

  constructor(value = 1) {
    const rebuilding = attaching !== null;
    if (!rebuilding && (!Number.isInteger(value) || value < 0 || value > SEM_VALUE_MAX)) {
      throw new OSError('[Errno 22] Invalid argument', { errno: 'EINVAL' });
    }
    this._block = blockFor(this);
    this.a = this._block.arena.i32;
    this.i = this._block.offset >> 2;
    if (!rebuilding) {
      this.a[this.i + VALUE] = value;
      this.a[this.i + MAX] = this.bounded() ? value : SEM_VALUE_MAX;
    }
  }

  protected bounded(): boolean {
    return false;
  }

  #tryTake(): boolean {
    const a = this.a;
    const i = this.i + VALUE;
    let v = Atomics.load(a, i);
    while (v > 0) {
      const w = Atomics.compareExchange(a, i, v, v - 1);
      if (w === v) return true;
      v = w;
    }
    return false;
  }

  /** Decrement, waiting while the value is 0; false when `block` is false or `timeout` passes. */
  acquire(opts?: AcquireOptions): Promise<boolean> {
    // Options are checked first: a bad timeout is an error even when a unit is free.
    const deadline = deadlineOf(opts);
    if (this.#tryTake()) return RESOLVED_TRUE;
    if (deadline === 0) return RESOLVED_FALSE;
    return this.#slowAsync(deadline);
  }

  acquireSync(opts?: AcquireOptions): boolean {
    const deadline = deadlineOf(opts);
    if (this.#tryTake()) return true;
    if (deadline === 0) return false;
    Atomics.add(this.a, this.i + SLEEPERS, 1);
    try {
      for (;;) {
        if (this.#tryTake()) return true;
        const ms = sliceLeft(deadline, 1000);
        if (ms <= 0) return false;
        sleepSync(this._block.arena, this.i + VALUE, 0, ms);
      }
    } finally {
      Atomics.sub(this.a, this.i + SLEEPERS, 1);
    }
  }

  async #slowAsync(deadline: number): Promise<boolean> {
    Atomics.add(this.a, this.i + SLEEPERS, 1);
    try {
      for (;;) {
        if (this.#tryTake()) return true;
        const ms = sliceLeft(deadline, 1000);
        if (ms <= 0) return false;
        await sleepAsync(this._block.arena, this.i + VALUE, 0, ms);
      }
    } finally {
      Atomics.sub(this.a, this.i + SLEEPERS, 1);
    }
  }

  /** Increment by `n` (default 1), waking that many waiters. */
  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw new ValueError('n must be one or more');
    const a = this.a;
    const i = this.i + VALUE;
    const max = a[this.i + MAX]!;
    let v = Atomics.load(a, i);
    for (;;) {
      if (v + n > max) throw new ValueError(TOO_MANY);
      const w = Atomics.compareExchange(a, i, v, v + n);
      if (w === v) break;
      v = w;
    }
    if (Atomics.load(a, this.i + SLEEPERS) > 0) wake(this._block.arena, i, n);
  }

  getValue(): number {
    return Atomics.load(this.a, this.i + VALUE);
  }

  withLock<R>(fn: () => R | Promise<R>): Promise<Awaited<R>> {
    return runHolding(this, fn);
  }

  holdSync(): Held {
    return holdSyncOf(this);
  }

  toString(): string {
    return `<${this.constructor.name}(value=${this.getValue()})>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(block: Block, bounded: boolean): Semaphore {
    return rebuildOn(block, () => (bounded ? new BoundedSemaphore() : new Semaphore()));
  }
}

/** A semaphore that cannot be released above its initial value. */
export class BoundedSemaphore extends Semaphore {
  protected override bounded(): boolean {
    return true;
  }
  override toString(): string {
    return `<BoundedSemaphore(value=${this.getValue()}, maxvalue=${this.a[this.i + MAX]})>`;
  }
}

// Billiard objects may travel in any message (not only as Process arguments):
// attaching by name works anywhere.
registerReducer(Lock, 'Lock', { reduce: (l) => refOf(l._block), rebuild: (ref: BlockRef) => Lock._rebuild(attach(ref)) });
registerReducer(RLock, 'RLock', { reduce: (l) => refOf(l._block), rebuild: (ref: BlockRef) => RLock._rebuild(attach(ref)) });
registerReducer(Semaphore, 'Semaphore', {
  reduce: (s) => refOf(s._block),
  rebuild: (ref: BlockRef) => Semaphore._rebuild(attach(ref), false),
});
registerReducer(BoundedSemaphore, 'BoundedSemaphore', {
  reduce: (s) => refOf(s._block),
  rebuild: (ref: BlockRef) => Semaphore._rebuild(attach(ref), true),
});

void ACQUIRED;

interface Acquirable {
  acquire(): Promise<boolean>;
  acquireSync(): boolean;
  release(): void;
}

/** Python's `with lock:` for Lock, RLock and Semaphore alike. */
async function runHolding<R>(lock: Acquirable, fn: () => R | Promise<R>): Promise<Awaited<R>> {
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

function holdSyncOf(lock: Acquirable): Held {
  lock.acquireSync();
  return holdOf(() => lock.release());
}
