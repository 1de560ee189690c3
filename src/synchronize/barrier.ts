/**
 * Barrier: threading.Barrier's algorithm over the shared heap.
 *
 * Words: 0 an internal mutex (a robust lock word, held only for a few
 * instructions, never across an await), 1 the state (FILLING, DRAINING,
 * RESETTING, BROKEN), 2 the number of waiters inside wait(), 3 a sequence
 * bumped on every state change (waiters sleep on it), 4 parties, 5 a flag
 * "the action is running", then one word per party: the thread id of each
 * waiter inside wait() (a slot is claimed with the arrival, in the same
 * critical section that counts it, and freed when the waiter leaves), then
 * one word per party: the time of that arrival (µs of the machine's monotonic
 * clock, modulo 2^32).
 *
 * A participant that dies inside wait() (SIGKILL, a terminated thread) is
 * found by the others from its slot: the last arrival checks the recorded
 * waiters before it releases them, sleeping waiters check every SLICE_MS, and
 * reset() checks too. A death while the barrier fills breaks it, as
 * CPython's abort(): every waiter gets BrokenBarrierError, and so does every
 * later wait() until reset(). A death after the release (while it drains)
 * only takes the dead waiter out, so that the barrier refills.
 *
 * The last arrival skips waiters that arrived less than FRESH_US ago: a
 * liveness check costs a /proc lookup (a few µs, as much as a whole cycle of
 * a busy barrier), and a death that close to the release is ordered after it.
 */
import { BrokenBarrierError, ValueError } from '../errors.js';
import { allocate, attach, refOf, type Block, type BlockRef } from '../heap.js';
import { describeTask, resolveTask, type Task, type TaskSpec } from '../task.js';
import { registerReducer } from '../wire/codec.js';
import {
  SLICE_MS, STOLEN, deadlineAfter, lockWordSync, me, sleepAsync, sleepSync, sliceLeft, threadAliveFast, unlockWord, wake,
} from './common.js';

const M = 0;
const STATE = 1;
const COUNT = 2;
const SEQ = 3;
const PARTIES = 4;
const ACTION = 5;
const SLOTS = 6;
/** Arrivals more recent than this (µs) are not checked by the last arrival (see the header). */
const FRESH_US = 1000;

/** The machine's monotonic clock in µs, modulo 2^32 (as an int32): the same in every process. */
function nowUs(): number {
  const [s, ns] = process.hrtime();
  return ((s * 1_000_000 + Math.floor(ns / 1000)) % 4294967296) | 0;
}

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

let attaching: Block | null = null;

export class Barrier {
  /** @internal */ readonly _block: Block;
  readonly #a: Int32Array;
  readonly #i: number;
  readonly #timeout: number | null;
  #action: Function | null;
  #actionSpec: TaskSpec | null = null;
  #actionReady: Promise<unknown> | null = null;

  /** `action` runs once per cycle, in the last process to arrive, before the others are released. */
  constructor(parties: number, action?: Task | null, timeout?: number | null) {
    const rebuilding = attaching !== null;
    if (!rebuilding && (!Number.isInteger(parties) || parties < 0 || parties > 0xffff)) {
      throw new ValueError('parties must be a non-negative integer');
    }
    if (action !== undefined && action !== null && typeof action !== 'function') throw new ValueError('action must be callable');
    if (!rebuilding) deadlineAfter(timeout); // a bad default timeout is an error now, not at the first wait()
    this._block = attaching ?? allocate((SLOTS + 2 * Math.max(1, parties)) * 4, this);
    attaching = null;
    this.#a = this._block.arena.i32;
    this.#i = this._block.offset >> 2;
    if (!rebuilding) this.#a[this.#i + PARTIES] = parties;
    this.#action = action ?? null;
    this.#timeout = timeout ?? null;
  }

  get parties(): number {
    return this.#a[this.#i + PARTIES]!;
  }

  /** Number of waiters currently blocked in wait(). */
  get nWaiting(): number {
    return Atomics.load(this.#a, this.#i + STATE) === FILLING ? Atomics.load(this.#a, this.#i + COUNT) : 0;
  }

  get broken(): boolean {
    return Atomics.load(this.#a, this.#i + STATE) === BROKEN;
  }

  // ---- the internal mutex -------------------------------------------------------
  #lock(): void {
    if (Atomics.compareExchange(this.#a, this.#i + M, 0, me()) === 0) return;
    // Its holder died between two instructions: the state cannot be trusted.
    if (lockWordSync(this._block.arena, this.#i + M, Infinity) === STOLEN) {
      this.#reapDead();
      this.#recount();
      this.#setState(BROKEN);
    }
  }
  #unlock(): void {
    unlockWord(this._block.arena, this.#i + M);
  }
  #setState(state: number): void {
    Atomics.store(this.#a, this.#i + STATE, state);
    this.#notifyAll();
  }
  #notifyAll(): void {
    Atomics.add(this.#a, this.#i + SEQ, 1);
    wake(this._block.arena, this.#i + SEQ);
  }
  #state(): number {
    return Atomics.load(this.#a, this.#i + STATE);
  }

  /**
   * With the mutex held: forget the participants that died inside wait().
   * While the barrier fills, a death breaks it (returns true); while it
   * drains or resets, the dead waiter is only taken out.
   */
  #reapDead(skipFresh = false): boolean {
    const a = this.#a;
    const base = this.#i + SLOTS;
    const n = this.parties;
    const self = me();
    const now = skipFresh ? nowUs() : 0;
    let dead = 0;
    for (let s = 0; s < n; s++) {
      const tid = a[base + s]!;
      if (tid === 0 || tid === self) continue;
      if (skipFresh) {
        const age = (now - a[base + n + s]!) | 0;
        if (age >= 0 && age < FRESH_US) continue;
      }
      if (!threadAliveFast(tid)) {
        a[base + s] = 0;
        dead++;
      }
    }
    if (dead === 0) return false;
    a[this.#i + COUNT]! -= dead;
    const st = this.#state();
    if (st === FILLING) {
      this.#setState(BROKEN);
      return true;
    }
    this.#exit();
    return false;
  }

  /** With the mutex held: the count from the slots (after a mutex holder died mid-update). */
  #recount(): void {
    let n = 0;
    for (let s = 0; s < this.parties; s++) if (this.#a[this.#i + SLOTS + s] !== 0) n++;
    this.#a[this.#i + COUNT] = n;
  }

  /** Claim a slot for this waiter; returns its index. */
  #claimSlot(): number {
    const a = this.#a;
    const n = this.parties;
    for (let s = 0; s < n; s++) {
      if (a[this.#i + SLOTS + s] === 0) {
        a[this.#i + SLOTS + s] = me();
        a[this.#i + SLOTS + n + s] = nowUs();
        return s;
      }
    }
    return -1;
  }

  /**
   * Wait with the mutex held until `done()` or the deadline; the mutex is
   * released while sleeping. Returns false on timeout.
   */
  *#waitUntil(done: () => boolean, deadline: number): Generator<[number, number], boolean, boolean> {
    let check = performance.now() + SLICE_MS;
    for (;;) {
      if (done()) return true;
      const ms = sliceLeft(deadline);
      if (ms <= 0) return false;
      const gen = Atomics.load(this.#a, this.#i + SEQ);
      this.#unlock();
      const timedOut: boolean = yield [gen, ms];
      this.#lock();
      // Every SLICE_MS of sleep (woken or not): has a participant died?
      if (timedOut || performance.now() >= check) {
        this.#reapDead();
        check = performance.now() + SLICE_MS;
      }
    }
  }

  /** The generator-driven algorithm, shared by wait and waitSync. Yields [seq, ms] to sleep. */
  *#run(timeout: number | null | undefined, sync: boolean): Generator<[number, number] | Promise<unknown>, number, any> {
    const deadline = deadlineAfter(timeout === undefined || timeout === null ? this.#timeout : timeout);
    const a = this.#a;
    const i = this.#i;
    const parties = this.parties;
    this.#lock();
    try {
      // _enter: wait while a previous cycle drains or resets (or the action runs).
      yield* this.#waitUntil(() => {
        const st = this.#state();
        return st !== DRAINING && st !== RESETTING && !(st === FILLING && a[i + COUNT]! >= parties);
      }, Infinity);
      if (this.#state() === BROKEN) throw new BrokenBarrierError();
      // The last arrival releases the others: not if one of them died waiting.
      if (a[i + COUNT]! + 1 === parties && this.#reapDead(true)) throw new BrokenBarrierError();
      const index = a[i + COUNT]!;
      a[i + COUNT] = index + 1;
      const slot = this.#claimSlot();
      try {
        if (index + 1 === parties) {
          // _release: the last arrival runs the action, then lets everyone go.
          if (this.#action || this.#actionSpec) {
            a[i + ACTION] = 1;
            this.#unlock();
            try {
              if (!this.#action && this.#actionReady) yield this.#actionReady;
              const result = this.#action?.();
              if (!sync && result && typeof (result as Promise<unknown>).then === 'function') yield result as Promise<unknown>;
            } catch (err) {
              this.#lock();
              a[i + ACTION] = 0;
              this.#setState(BROKEN);
              throw err;
            }
            this.#lock();
            a[i + ACTION] = 0;
            if (this.#state() === BROKEN) throw new BrokenBarrierError();
          }
          this.#setState(DRAINING);
        } else {
          const released: boolean = yield* this.#waitUntil(() => this.#state() !== FILLING, deadline);
          if (!released) {
            this.#setState(BROKEN);
            throw new BrokenBarrierError();
          }
          if (this.#state() < 0) throw new BrokenBarrierError();
        }
        return index;
      } finally {
        if (slot >= 0 && a[i + SLOTS + slot] === me()) a[i + SLOTS + slot] = 0;
        a[i + COUNT]!--;
        this.#exit();
      }
    } finally {
      this.#unlock();
    }
  }

  /** _exit: the last one out of a draining or resetting barrier refills it. */
  #exit(): void {
    if (this.#a[this.#i + COUNT] === 0) {
      const st = this.#state();
      if (st === RESETTING || st === DRAINING) this.#setState(FILLING);
    }
  }

  /** Wait for all parties; resolves this caller's arrival index (0 … parties-1). */
  async wait(timeout?: number | null): Promise<number> {
    const run = this.#run(timeout, false);
    let input: any = undefined;
    for (;;) {
      let step: IteratorResult<[number, number] | Promise<unknown>, number>;
      try {
        step = run.next(input);
      } catch (err) {
        throw err;
      }
      if (step.done) return step.value;
      if (Array.isArray(step.value)) {
        const [gen, ms] = step.value;
        input = await sleepAsync(this._block.arena, this.#i + SEQ, gen, ms);
      } else {
        try {
          input = await step.value;
        } catch (err) {
          const next = run.throw(err);
          if (next.done) return next.value;
          throw err;
        }
      }
    }
  }

  /** wait(), blocking the thread (an async action's promise is not awaited). */
  waitSync(timeout?: number | null): number {
    const run = this.#run(timeout, true);
    let input: any = undefined;
    for (;;) {
      const step = run.next(input);
      if (step.done) return step.value;
      if (Array.isArray(step.value)) {
        const [gen, ms] = step.value;
        input = sleepSync(this._block.arena, this.#i + SEQ, gen, ms);
      } else {
        input = undefined;
      }
    }
  }

  /** Put the barrier back to its initial state; current waiters get BrokenBarrierError. */
  reset(): void {
    this.#lock();
    try {
      this.#reapDead(); // waiters that died are not waited for
      if (this.#a[this.#i + COUNT]! > 0) {
        const st = this.#state();
        if (st === FILLING || st === BROKEN) this.#setState(RESETTING);
      } else {
        this.#setState(FILLING);
      }
    } finally {
      this.#unlock();
    }
  }

  /** Break the barrier: current and future wait() calls throw BrokenBarrierError until reset(). */
  abort(): void {
    this.#lock();
    try {
      this.#setState(BROKEN);
    } finally {
      this.#unlock();
    }
  }

  toString(): string {
    return `<Barrier(parties=${this.parties}, waiting=${this.nWaiting}${this.broken ? ', broken' : ''})>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  _state(): [BlockRef, TaskSpec | null, number | null] {
    return [refOf(this._block), this.#action ? describeTask(this.#action) : this.#actionSpec, this.#timeout];
  }

  /** @internal */
  static _rebuild([ref, spec, timeout]: [BlockRef, TaskSpec | null, number | null]): Barrier {
    attaching = attach(ref);
    let b: Barrier;
    try {
      b = new Barrier(0, null, timeout);
    } finally {
      attaching = null;
    }
    if (spec) {
      b.#actionSpec = spec;
      b.#actionReady = resolveTask(spec).then((fn) => {
        b.#action = fn;
      });
      b.#actionReady.catch(() => {});
    }
    return b;
  }
}

registerReducer(Barrier, 'Barrier', { reduce: (b) => b._state(), rebuild: Barrier._rebuild });
