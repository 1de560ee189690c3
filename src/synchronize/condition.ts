/**
 * Condition and Event over the shared heap.
 *
 * Condition: word 0 packs the number of registered waiters (low 16 bits)
 * and of wake-up tokens handed out by notify (high 16 bits), so that every
 * transition (register, notify, take a token, give up on timeout) is one
 * compareExchange; word 1 is a sequence number bumped by each notify, which
 * waiters sleep on. A waiter may take a token only once a notify happened
 * after it registered, so notifies are not remembered for later waiters, and
 * notify(n) with fewer sleepers wakes only those present (CPython's rules).
 * Unlike CPython, notify does not block until the woken have woken: here a
 * waiter may be an async function of the notifier's own thread.
 *
 * Event: word 0 the flag, word 1 the number of sleepers.
 */
import { AssertionError, TypeError } from '../errors.js';
import { allocate, attach, refOf, type Block, type BlockRef } from '../heap.js';
import { registerReducer } from '../wire/codec.js';
import { deadlineAfter, sleepAsync, sleepSync, sliceLeft, wake } from './common.js';
import { Lock, RLock, type LockLike } from './semlock.js';
import { LockHolder } from './lock-holder.js';

const ST = 0;
const SEQ = 1;
const ONE_TOKEN = 0x10000;
const LONG_SLICE = 1000;

let attaching: Block | null = null;

export class Condition extends LockHolder {
  /** @internal */ readonly _block: Block;
  readonly #a: Int32Array;
  readonly #i: number;

  constructor(lock?: Lock | RLock | null) {
    if (lock !== undefined && lock !== null && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw new TypeError('lock must be a Lock or an RLock');
    }
    super(lock ?? new RLock());
    this._block = attaching ?? allocate(8, this);
    attaching = null;
    this.#a = this._block.arena.i32;
    this.#i = this._block.offset >> 2;
  }

  /** The lock this condition uses. */
  get lock(): Lock | RLock {
    return this.heldLock;
  }

  #register(): number {
    if (!(this.heldLock as LockLike)._isMine()) throw new AssertionError('must acquire() condition before using wait()');
    Atomics.add(this.#a, this.#i + ST, 1);
    return Atomics.load(this.#a, this.#i + SEQ);
  }

  /** One check: true/false when done (notified / gave up), else the sequence to sleep on. */
  #check(gen: number, deadline: number): boolean | number {
    const a = this.#a;
    const s = Atomics.load(a, this.#i + SEQ);
    if (s !== gen && this.#takeToken()) return true;
    if (sliceLeft(deadline) <= 0) {
      for (;;) {
        const w = Atomics.load(a, this.#i + ST);
        const next = w >>> 16 > 0 ? w - ONE_TOKEN - 1 : w - 1;
        if (Atomics.compareExchange(a, this.#i + ST, w, next) === w) return w >>> 16 > 0;
      }
    }
    return s;
  }

  #takeToken(): boolean {
    const a = this.#a;
    for (;;) {
      const w = Atomics.load(a, this.#i + ST);
      if (w >>> 16 === 0) return false;
      if (Atomics.compareExchange(a, this.#i + ST, w, w - ONE_TOKEN - 1) === w) return true;
    }
  }

  /**
   * Release the lock (all recursion levels), wait for a notify or `timeout`
   * ms, re-acquire. Resolves true if notified.
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const deadline = deadlineAfter(timeout);
    let gen = this.#register();
    const saved = (this.heldLock as LockLike)._releaseAll();
    try {
      for (;;) {
        const r = this.#check(gen, deadline);
        if (typeof r === 'boolean') return r;
        gen = r;
        await sleepAsync(this._block.arena, this.#i + SEQ, gen, sliceLeft(deadline, LONG_SLICE));
      }
    } finally {
      await (this.heldLock as LockLike)._restore(saved);
    }
  }

  /** wait(), blocking the thread. */
  waitSync(timeout?: number | null): boolean {
    const deadline = deadlineAfter(timeout);
    let gen = this.#register();
    const saved = (this.heldLock as LockLike)._releaseAll();
    try {
      for (;;) {
        const r = this.#check(gen, deadline);
        if (typeof r === 'boolean') return r;
        gen = r;
        sleepSync(this._block.arena, this.#i + SEQ, gen, sliceLeft(deadline, LONG_SLICE));
      }
    } finally {
      (this.heldLock as LockLike)._restoreSync(saved);
    }
  }

  /** Wait until `predicate()` is truthy or `timeout` passes; resolves the last predicate value. */
  async waitFor<T>(predicate: () => T, timeout?: number | null): Promise<T> {
    if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
    const deadline = deadlineAfter(timeout);
    let result = predicate();
    while (!result) {
      const left = deadline === Infinity ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) break;
      await this.wait(left);
      result = predicate();
    }
    return result;
  }

  waitForSync<T>(predicate: () => T, timeout?: number | null): T {
    if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
    const deadline = deadlineAfter(timeout);
    let result = predicate();
    while (!result) {
      const left = deadline === Infinity ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) break;
      this.waitSync(left);
      result = predicate();
    }
    return result;
  }

  /** Wake up to `n` of the current waiters. Throws AssertionError unless the lock is held. */
  notify(n = 1): void {
    if (!(this.heldLock as LockLike)._isMine()) throw new AssertionError('lock is not owned');
    const a = this.#a;
    for (;;) {
      const w = Atomics.load(a, this.#i + ST);
      const give = Math.min(n, (w & 0xffff) - (w >>> 16));
      if (give <= 0) return;
      if (Atomics.compareExchange(a, this.#i + ST, w, w + give * ONE_TOKEN) === w) break;
    }
    Atomics.add(a, this.#i + SEQ, 1);
    // Wake all: only a waiter registered before this notify may take a token.
    wake(this._block.arena, this.#i + SEQ);
  }

  notifyAll(): void {
    this.notify(0xffff);
  }

  override toString(): string {
    const w = Atomics.load(this.#a, this.#i + ST);
    return `<Condition(${String(this.heldLock)}, ${(w & 0xffff) - (w >>> 16)})>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(block: Block, lock: Lock | RLock): Condition {
    attaching = block;
    try {
      return new Condition(lock);
    } finally {
      attaching = null;
    }
  }
}

const FLAG = 0;
const SLEEPERS = 1;

/** A flag processes and threads can wait for (CPython's multiprocessing.Event). */
export class Event {
  /** @internal */ readonly _block: Block;
  readonly #a: Int32Array;
  readonly #i: number;

  constructor() {
    this._block = attaching ?? allocate(8, this);
    attaching = null;
    this.#a = this._block.arena.i32;
    this.#i = this._block.offset >> 2;
  }

  isSet(): boolean {
    return Atomics.load(this.#a, this.#i + FLAG) === 1;
  }

  set(): void {
    if (Atomics.exchange(this.#a, this.#i + FLAG, 1) === 0 && Atomics.load(this.#a, this.#i + SLEEPERS) > 0) {
      wake(this._block.arena, this.#i + FLAG);
    }
  }

  clear(): void {
    Atomics.store(this.#a, this.#i + FLAG, 0);
  }

  /** Resolves true once set, or false after `timeout` ms. */
  wait(timeout?: number | null): Promise<boolean> {
    if (this.isSet()) return Promise.resolve(true);
    return this.#waitAsync(deadlineAfter(timeout));
  }

  async #waitAsync(deadline: number): Promise<boolean> {
    Atomics.add(this.#a, this.#i + SLEEPERS, 1);
    try {
      for (;;) {
        if (this.isSet()) return true;
        const ms = sliceLeft(deadline, LONG_SLICE);
        if (ms <= 0) return false;
        await sleepAsync(this._block.arena, this.#i + FLAG, 0, ms);
      }
    } finally {
      Atomics.sub(this.#a, this.#i + SLEEPERS, 1);
    }
  }

  /** wait(), blocking the thread. */
  waitSync(timeout?: number | null): boolean {
    if (this.isSet()) return true;
    const deadline = deadlineAfter(timeout);
    Atomics.add(this.#a, this.#i + SLEEPERS, 1);
    try {
      for (;;) {
        if (this.isSet()) return true;
        const ms = sliceLeft(deadline, LONG_SLICE);
        if (ms <= 0) return false;
        sleepSync(this._block.arena, this.#i + FLAG, 0, ms);
      }
    } finally {
      Atomics.sub(this.#a, this.#i + SLEEPERS, 1);
    }
  }

  toString(): string {
    return `<Event ${this.isSet() ? 'set' : 'unset'}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(block: Block): Event {
    attaching = block;
    try {
      return new Event();
    } finally {
      attaching = null;
    }
  }
}

registerReducer(Condition, 'Condition', {
  reduce: (c) => [refOf(c._block), c.lock],
  rebuild: ([ref, lock]: [BlockRef, Lock | RLock]) => Condition._rebuild(attach(ref), lock),
});
registerReducer(Event, 'Event', {
  reduce: (e) => refOf(e._block),
  rebuild: (ref: BlockRef) => Event._rebuild(attach(ref)),
});
