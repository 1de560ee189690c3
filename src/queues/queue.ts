/**
 * Queue, JoinableQueue and SimpleQueue: handles on a shared-memory queue
 * (core.ts). Every handle, in any process or thread, both puts and gets.
 *
 * Differences from CPython, on purpose:
 * - No feeder thread: `put` serializes and writes the item before it returns
 *   (so mutating an object after `put` does not change what is received, an
 *   unserializable item rejects its own `put`, and `put` then an immediate
 *   `getNowait()` in the same process finds the item). A process has nothing
 *   buffered at exit: `joinThread()` resolves at once, `cancelJoinThread()`
 *   changes nothing; both keep CPython's state checks.
 * - `close()` closes this handle (put/get on it throw ValueError), as in
 *   CPython. Closing the handle that created the queue (the one made with
 *   `new Queue()`, the owner of the writer end) also closes the queue for
 *   async iteration: `for await (const x of q)`, in any process, drains the
 *   queue and then ends. Iterating a handle that is itself closed also
 *   drains and ends. Other handles may still put after the owner closed
 *   (CPython's close is per handle); their items are not waited for.
 * - `put` on an unbounded queue never waits for consumers that do not
 *   consume; while the 8 MiB ring is full and consumers are taking items, it
 *   waits for room (a few ms at a time) rather than spilling to fresh memory.
 * - Queues travel anywhere (Process and Pool arguments, inside queue items,
 *   pool tasks): the receiver attaches the same shared memory.
 */
import { AssertionError, Empty, Full, OSError, TypeError, ValueError } from '../errors.js';
import type { BlockRef } from '../heap.js';
import { importForDecode } from '../modules.js';
import { deadlineOf, type AcquireOptions } from '../synchronize/common.js';
import { codec, type Encoded } from '../wire/codec.js';
import { BUSY, EMPTY, ENDED, QueueCore, type QueueKind, type Taken } from './core.js';
import type { Frame } from './layout.js';

/** `block` (default true) and `timeout` in ms (default: none) of put/get. */
export type QueueOptions = AcquireOptions;

const RESOLVED: Promise<void> = Promise.resolve();
const SEM_VALUE_MAX = 0x7fffffff;

let attaching: QueueCore | null = null;

function encodeItem(obj: unknown): Encoded {
  return codec.encode(obj, { attachments: true, root: 'item' });
}

function frameOf(core: QueueCore, t: Taken): Frame {
  return core.finish(t);
}

function decodeSync<T>(f: Frame): T {
  return codec.decode(f.body, { attachments: f.attachments }).value as T;
}

/** Decode; import the modules the item names first if this process lacks them. */
function decodePromise<T>(f: Frame): Promise<T> {
  try {
    const { value, missingModules } = codec.decode(f.body, { attachments: f.attachments });
    if (missingModules.length === 0) return Promise.resolve(value as T);
  } catch (err) {
    return Promise.reject(err);
  }
  return codec.decodeAsync(f.body, { attachments: f.attachments, importModule: importForDecode }) as Promise<T>;
}

function describe(core: QueueCore): string {
  return `${core.block.arena.name.slice(1)}+${core.block.offset}`;
}

/** A FIFO queue shared by processes and threads (CPython's multiprocessing.Queue). */
export class Queue<T = unknown> {
  /** @internal */ readonly _core: QueueCore;
  #closed = false;
  #joinCancelled = false;
  /** Made here with `new` (not received): its close() closes the queue for iteration. */
  readonly #owner: boolean;

  /** `maxsize` ≤ 0 (default): unbounded. */
  constructor(maxsize = 0) {
    this.#owner = attaching === null;
    if (attaching) {
      this._core = attaching;
      attaching = null;
      return;
    }
    if (typeof maxsize !== 'number' || Number.isNaN(maxsize)) {
      throw new TypeError(`'maxsize' must be a number, not ${maxsize === null ? 'null' : Number.isNaN(maxsize) ? 'NaN' : typeof maxsize}`);
    }
    const bound = maxsize <= 0 ? 0 : Math.min(Math.floor(maxsize), SEM_VALUE_MAX);
    this._core = QueueCore.create(bound, this instanceof JoinableQueue ? 1 : 0, this);
  }

  #checkClosed(): void {
    if (this.#closed) throw new ValueError(`Queue ${this} is closed`);
  }

  /**
   * Put `obj`. Resolves once the item is in the queue; waits for room only
   * in a bounded queue (rejects with Full after `timeout`, or at once with
   * `block: false`). An item that cannot be serialized rejects with
   * SerializationError and leaves the queue as it was.
   */
  put(obj: T, opts?: QueueOptions): Promise<void> {
    this.#checkClosed();
    const deadline = deadlineOf(opts);
    let enc: Encoded;
    try {
      enc = encodeItem(obj);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._core.putNow(enc)) return RESOLVED;
    return this.#putSlow(enc, deadline);
  }

  async #putSlow(enc: Encoded, deadline: number): Promise<void> {
    if (!(await this._core.putAsync(enc, deadline))) throw new Full('queue is full');
  }

  /** Put without waiting: throws Full when a bounded queue has no room. */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Put, blocking the calling thread while a bounded queue is full. */
  putSync(obj: T, opts?: QueueOptions): void {
    this.#checkClosed();
    const deadline = deadlineOf(opts);
    if (!this._core.putSync(encodeItem(obj), deadline)) throw new Full('queue is full');
  }

  /** Take the next item; rejects with Empty after `timeout`, or at once with `block: false`. */
  get(opts?: QueueOptions): Promise<T> {
    this.#checkClosed();
    const deadline = deadlineOf(opts);
    const core = this._core;
    let t = core.takeNow();
    if (t === EMPTY && deadline !== 0 && core.awaitPut()) t = core.takeNow();
    if (t === BUSY || t === EMPTY) {
      if (t === EMPTY && deadline === 0) return Promise.reject(new Empty('queue is empty'));
      return this.#getSlow(deadline);
    }
    return decodePromise(frameOf(core, t));
  }

  async #getSlow(deadline: number): Promise<T> {
    const core = this._core;
    const t = await core.takeAsync(deadline);
    if (t === null || t === ENDED) throw new Empty('queue is empty');
    return decodePromise(frameOf(core, t));
  }

  /** Take without waiting: throws Empty when nothing is ready. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** Take, blocking the calling thread. Items naming a class of a module this process has not loaded decode without it. */
  getSync(opts?: QueueOptions): T {
    this.#checkClosed();
    const core = this._core;
    const t = core.takeSync(deadlineOf(opts));
    if (t === null) throw new Empty('queue is empty');
    return decodeSync(frameOf(core, t));
  }

  /** Items in the queue (exact: large items still being written are not counted yet). */
  qsize(): number {
    return this._core.qsize();
  }

  empty(): boolean {
    return this._core.qsize() === 0;
  }

  /** A bounded queue has `maxsize` items (counting large items still being written). */
  full(): boolean {
    return this._core.full();
  }

  /** The bound given to the constructor (0: unbounded). */
  get maxsize(): number {
    return this._core.maxsize;
  }

  /**
   * Close this handle: put/get on it throw ValueError from now on
   * (idempotent). On the handle that created the queue, also close the queue
   * for async iteration (in every process): iterators drain it, then end.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owner) this._core.close();
    else this._core.nudge(); // an iterator of this handle re-checks
  }

  /** CPython waits for the feeder thread here; items are never buffered in the process, so this resolves at once. */
  joinThread(): Promise<void> {
    if (!this.#closed) throw new AssertionError(`Queue ${this} not closed`);
    return RESOLVED;
  }

  /** CPython lets the process exit without flushing its feeder; there is nothing to flush, so this changes nothing. */
  cancelJoinThread(): void {
    this.#joinCancelled = true;
  }

  /**
   * Every item, as it arrives, until the queue has been closed (by the
   * handle that created it) or this handle has been closed, and is drained.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const core = this._core;
    const ended = (): boolean => this.#closed || core.closed;
    for (;;) {
      let t: Taken | null | typeof ENDED | typeof EMPTY | typeof BUSY = core.takeNow();
      if (t === EMPTY || t === BUSY) t = await core.takeAsync(Infinity, ended);
      if (t === null || t === ENDED) return;
      yield await decodePromise<T>(frameOf(core, t));
    }
  }

  toString(): string {
    return `<${this.constructor.name}(maxsize=${this.maxsize}) ${describe(this._core)}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  get _joinCancelled(): boolean {
    return this.#joinCancelled;
  }
}

/** A Queue that counts unfinished tasks: `taskDone()` per item taken, `join()` until all are done. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** Mark one item taken from the queue as processed. */
  taskDone(): void {
    if (!this._core.taskDone()) throw new ValueError('task_done() called too many times');
  }

  /** Resolves when every item put has been marked done with taskDone(). */
  join(): Promise<void> {
    return this._core.join();
  }

  /** The same, blocking the calling thread. */
  joinSync(): void {
    this._core.joinSync();
  }
}

/** A plain unbounded queue without timeouts (CPython's SimpleQueue). */
export class SimpleQueue<T = unknown> {
  /** @internal */ readonly _core: QueueCore;
  #closed = false;

  constructor() {
    if (attaching) {
      this._core = attaching;
      attaching = null;
      return;
    }
    this._core = QueueCore.create(0, 2, this);
  }

  #check(): void {
    if (this.#closed) throw new OSError('handle is closed');
  }

  put(obj: T): Promise<void> {
    this.#check();
    let enc: Encoded;
    try {
      enc = encodeItem(obj);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._core.putNow(enc)) return RESOLVED;
    return this._core.putAsync(enc, Infinity).then(() => undefined);
  }

  putSync(obj: T): void {
    this.#check();
    this._core.putSync(encodeItem(obj), Infinity);
  }

  get(): Promise<T> {
    this.#check();
    const core = this._core;
    const t = core.takeNow();
    if (t !== EMPTY && t !== BUSY) return decodePromise(frameOf(core, t));
    return core.takeAsync(Infinity).then((r) => decodePromise<T>(frameOf(core, r as Taken)));
  }

  getSync(): T {
    this.#check();
    const core = this._core;
    return decodeSync(frameOf(core, core.takeSync(Infinity) as Taken));
  }

  empty(): boolean {
    this.#check();
    return this._core.qsize() === 0;
  }

  /** Close this handle (idempotent): empty/put/get throw OSError('handle is closed') afterwards. */
  close(): void {
    this.#closed = true;
  }

  toString(): string {
    return `<SimpleQueue ${describe(this._core)}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Rebuild a received queue handle. */
export function rebuildQueue(ref: BlockRef): Queue | SimpleQueue {
  const core = QueueCore.attach(ref);
  const kind = core.kind as QueueKind;
  attaching = core;
  try {
    return kind === 1 ? new JoinableQueue() : kind === 2 ? new SimpleQueue() : new Queue();
  } finally {
    attaching = null;
  }
}
