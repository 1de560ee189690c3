/**
 * In-server implementations behind the Queue, Lock, RLock, Semaphore,
 * BoundedSemaphore, Condition, Event and Barrier proxies (CPython serves
 * queue.Queue and threading.* objects the same way). Owners are callers
 * (client processes): a client that goes away releases what it held, and a
 * blocked call of a client that went away never consumes anything.
 */
import {
  AssertionError, BrokenBarrierError, Empty, Full, RuntimeError, TypeError, ValueError,
} from '../errors.js';
import { Caller, WaitList, checkTimeout, currentCaller, deadlineOf, remaining } from './caller.js';

export interface BlockOpts {
  block?: boolean;
  timeout?: number | null;
}

function blockOpts(opts: BlockOpts | boolean | undefined, timeout?: number | null): { block: boolean; timeout: number | null } {
  if (typeof opts === 'boolean') return { block: opts, timeout: timeout ?? null };
  return { block: opts?.block ?? true, timeout: opts?.timeout ?? null };
}

// ---- queues -------------------------------------------------------------------------
export class QueueReferent {
  readonly #items: unknown[] = [];
  readonly #getters = new WaitList();
  readonly #putters = new WaitList();
  readonly maxsize: number;

  constructor(maxsize = 0) {
    if (typeof maxsize !== 'number' || Number.isNaN(maxsize)) {
      throw new TypeError(`'maxsize' must be a number, not ${maxsize === null ? 'null' : Number.isNaN(maxsize) ? 'NaN' : typeof maxsize}`);
    }
    this.maxsize = maxsize > 0 ? maxsize : 0;
  }

  #full(): boolean {
    return this.maxsize > 0 && this.#items.length >= this.maxsize;
  }

  async put(obj: unknown, opts?: BlockOpts | boolean, timeout?: number | null): Promise<void> {
    const caller = currentCaller();
    const { block, timeout: t } = blockOpts(opts, timeout);
    const deadline = deadlineOf(t);
    while (this.#full()) {
      if (!block) throw new Full();
      const left = remaining(deadline);
      if (left === 0) throw new Full();
      await this.#putters.wait(caller, left);
      if (caller.closed) return;
    }
    this.#items.push(obj);
    this._onPut();
    this.#getters.wakeOne();
  }

  putNowait(obj: unknown): Promise<void> {
    return this.put(obj, { block: false });
  }

  async get(opts?: BlockOpts | boolean, timeout?: number | null): Promise<unknown> {
    const caller = currentCaller();
    const { block, timeout: t } = blockOpts(opts, timeout);
    const deadline = deadlineOf(t);
    while (this.#items.length === 0) {
      if (!block) throw new Empty();
      const left = remaining(deadline);
      if (left === 0) throw new Empty();
      await this.#getters.wait(caller, left);
      // A caller that left must not take an item nobody will receive.
      if (caller.closed) {
        if (this.#items.length > 0) this.#getters.wakeOne();
        return undefined;
      }
    }
    const item = this.#items.shift();
    this.#putters.wakeOne();
    if (this.#items.length > 0) this.#getters.wakeOne();
    return item;
  }

  getNowait(): Promise<unknown> {
    return this.get({ block: false });
  }

  qsize(): number {
    return this.#items.length;
  }
  empty(): boolean {
    return this.#items.length === 0;
  }
  full(): boolean {
    return this.#full();
  }

  /** @internal */
  _onPut(): void {}
}

export class JoinableQueueReferent extends QueueReferent {
  #unfinished = 0;
  readonly #joiners = new WaitList();

  override _onPut(): void {
    this.#unfinished++;
  }

  taskDone(): void {
    if (this.#unfinished <= 0) throw new ValueError('task_done() called too many times');
    if (--this.#unfinished === 0) this.#joiners.wakeAll();
  }

  async join(): Promise<void> {
    const caller = currentCaller();
    while (this.#unfinished > 0 && !caller.closed) await this.#joiners.wait(caller, null);
  }
}

// ---- locks --------------------------------------------------------------------------
/** What Condition needs from its lock. */
export interface ConditionLock {
  _acquire(caller: Caller, block: boolean, timeout: number | null): Promise<boolean>;
  _isOwned(caller: Caller): boolean;
  /** Release completely, returning what _restore needs. */
  _releaseSave(caller: Caller): unknown;
  _restore(caller: Caller, saved: unknown): Promise<void>;
}

export class LockReferent implements ConditionLock {
  #holder: Caller | null = null;
  #locked = false;
  #unwatch: () => void = () => {};
  readonly #waiters = new WaitList();

  acquire(opts?: BlockOpts | boolean, timeout?: number | null): Promise<boolean> {
    const { block, timeout: t } = blockOpts(opts, timeout);
    return this._acquire(currentCaller(), block, t);
  }

  async _acquire(caller: Caller, block: boolean, timeout: number | null): Promise<boolean> {
    const deadline = deadlineOf(timeout);
    while (this.#locked) {
      if (!block) return false;
      const left = remaining(deadline);
      if (left === 0) return false;
      await this.#waiters.wait(caller, left);
      if (caller.closed) return false;
    }
    this.#locked = true;
    this.#holder = caller;
    // A holder that goes away releases the lock (CPython would leave it locked forever).
    this.#unwatch = caller.onClose(() => {
      if (this.#holder === caller) this.#release();
    });
    return true;
  }

  release(): void {
    if (!this.#locked) throw new ValueError('semaphore or lock released too many times');
    this.#release();
  }

  #release(): void {
    this.#unwatch();
    this.#locked = false;
    this.#holder = null;
    this.#waiters.wakeOne();
  }

  locked(): boolean {
    return this.#locked;
  }

  _isOwned(): boolean {
    return this.#locked;
  }
  _releaseSave(): unknown {
    this.#release();
    return null;
  }
  async _restore(caller: Caller): Promise<void> {
    await this._acquire(caller, true, null);
  }
}

export class RLockReferent implements ConditionLock {
  #owner: Caller | null = null;
  #count = 0;
  #unwatch: () => void = () => {};
  readonly #waiters = new WaitList();

  acquire(opts?: BlockOpts | boolean, timeout?: number | null): Promise<boolean> {
    const { block, timeout: t } = blockOpts(opts, timeout);
    return this._acquire(currentCaller(), block, t);
  }

  async _acquire(caller: Caller, block: boolean, timeout: number | null, count = 1): Promise<boolean> {
    if (this.#owner === caller) {
      this.#count += count;
      return true;
    }
    const deadline = deadlineOf(timeout);
    while (this.#owner !== null) {
      if (!block) return false;
      const left = remaining(deadline);
      if (left === 0) return false;
      await this.#waiters.wait(caller, left);
      if (caller.closed) return false;
    }
    this.#owner = caller;
    this.#count = count;
    this.#unwatch = caller.onClose(() => {
      if (this.#owner === caller) this.#releaseAll();
    });
    return true;
  }

  release(): void {
    const caller = currentCaller();
    if (this.#owner !== caller || this.#count === 0) {
      throw new AssertionError('attempt to release recursive lock not owned by thread');
    }
    if (--this.#count === 0) this.#releaseAll();
  }

  #releaseAll(): void {
    this.#unwatch();
    this.#owner = null;
    this.#count = 0;
    this.#waiters.wakeOne();
  }

  _isOwned(caller: Caller): boolean {
    return this.#owner === caller;
  }
  _releaseSave(): unknown {
    const count = this.#count;
    this.#releaseAll();
    return count;
  }
  async _restore(caller: Caller, saved: unknown): Promise<void> {
    await this._acquire(caller, true, null, saved as number);
  }
}

export class SemaphoreReferent {
  #value: number;
  readonly #waiters = new WaitList();

  constructor(value = 1) {
    if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`semaphore value must be a number, not ${String(value)}`);
    if (value < 0) throw new ValueError('semaphore initial value must be >= 0');
    this.#value = value;
  }

  async acquire(opts?: BlockOpts | boolean, timeout?: number | null): Promise<boolean> {
    const caller = currentCaller();
    const { block, timeout: t } = blockOpts(opts, timeout);
    const deadline = deadlineOf(t);
    while (this.#value === 0) {
      if (!block) return false;
      const left = remaining(deadline);
      if (left === 0) return false;
      await this.#waiters.wait(caller, left);
      if (caller.closed) {
        if (this.#value > 0) this.#waiters.wakeOne();
        return false;
      }
    }
    this.#value--;
    return true;
  }

  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw new ValueError('n must be one or more');
    this._checkRelease(n);
    this.#value += n;
    for (let i = 0; i < n; i++) this.#waiters.wakeOne();
  }

  getValue(): number {
    return this.#value;
  }

  /** @internal */
  _checkRelease(_n: number): void {}
  /** @internal */
  get _value(): number {
    return this.#value;
  }
}

export class BoundedSemaphoreReferent extends SemaphoreReferent {
  readonly #initial: number;
  constructor(value = 1) {
    super(value);
    this.#initial = value;
  }
  override _checkRelease(n: number): void {
    if (this._value + n > this.#initial) throw new ValueError('semaphore or lock released too many times');
  }
}

export class ConditionReferent {
  readonly #lock: ConditionLock & { release(): void };
  readonly #waiters = new WaitList();

  constructor(lock?: unknown) {
    const referent = (lock as { _referent?: () => unknown } | undefined)?._referent?.();
    const candidate = (referent ?? lock) as (ConditionLock & { release(): void }) | undefined;
    if (candidate !== undefined && candidate !== null && typeof candidate._acquire !== 'function') {
      throw new ValueError('Condition() needs a Lock or RLock of the same manager');
    }
    this.#lock = candidate ?? new RLockReferent();
  }

  acquire(opts?: BlockOpts | boolean, timeout?: number | null): Promise<boolean> {
    const { block, timeout: t } = blockOpts(opts, timeout);
    return this.#lock._acquire(currentCaller(), block, t);
  }

  release(): void {
    this.#lock.release();
  }

  async wait(timeout?: number | null): Promise<boolean> {
    const caller = currentCaller();
    checkTimeout(timeout);
    if (!this.#lock._isOwned(caller)) throw new RuntimeError('cannot wait on un-acquired lock');
    const saved = this.#lock._releaseSave(caller);
    let notified = false;
    try {
      notified = await this.#waiters.wait(caller, timeout ?? null);
    } finally {
      if (!caller.closed) await this.#lock._restore(caller, saved);
    }
    return notified;
  }

  notify(n = 1): void {
    if (!this.#lock._isOwned(currentCaller())) throw new RuntimeError('cannot notify on un-acquired lock');
    for (let i = 0; i < n; i++) if (!this.#waiters.wakeOne()) break;
  }

  notifyAll(): void {
    if (!this.#lock._isOwned(currentCaller())) throw new RuntimeError('cannot notify on un-acquired lock');
    this.#waiters.wakeAll();
  }
}

export class EventReferent {
  #flag = false;
  readonly #waiters = new WaitList();

  isSet(): boolean {
    return this.#flag;
  }
  set(): void {
    this.#flag = true;
    this.#waiters.wakeAll();
  }
  clear(): void {
    this.#flag = false;
  }
  async wait(timeout?: number | null): Promise<boolean> {
    checkTimeout(timeout);
    if (this.#flag) return true;
    await this.#waiters.wait(currentCaller(), timeout ?? null);
    return this.#flag;
  }
}

interface Generation {
  passed: boolean;
  broken: boolean;
}

export class BarrierReferent {
  readonly #parties: number;
  readonly #timeout: number | null;
  #count = 0;
  #broken = false;
  #gen: Generation = { passed: false, broken: false };
  readonly #waiters = new WaitList();

  constructor(parties: number, _action?: unknown, timeout?: number | null) {
    if (!Number.isInteger(parties) || parties < 1) throw new ValueError('parties must be > 0');
    if (_action !== undefined && _action !== null) throw new ValueError('a managed Barrier takes no action');
    this.#parties = parties;
    this.#timeout = checkTimeout(timeout);
  }

  async wait(timeout?: number | null): Promise<number> {
    const caller = currentCaller();
    checkTimeout(timeout);
    if (this.#broken) throw new BrokenBarrierError();
    const gen = this.#gen;
    const index = this.#count++;
    if (this.#count === this.#parties) {
      gen.passed = true;
      this.#count = 0;
      this.#gen = { passed: false, broken: false };
      this.#waiters.wakeAll();
      return index;
    }
    const deadline = deadlineOf(timeout ?? this.#timeout);
    while (!gen.passed && !gen.broken) {
      const left = remaining(deadline);
      const woken = left === 0 ? false : await this.#waiters.wait(caller, left);
      if (caller.closed && !gen.passed) {
        this.abort();
        break;
      }
      if (!woken && !gen.passed && !gen.broken) {
        this.abort();
        break;
      }
    }
    if (!gen.passed) throw new BrokenBarrierError();
    return index;
  }

  reset(): void {
    if (this.#count > 0) {
      this.#gen.broken = true;
      this.#waiters.wakeAll();
    }
    this.#count = 0;
    this.#gen = { passed: false, broken: false };
    this.#broken = false;
  }

  abort(): void {
    this.#broken = true;
    this.#gen.broken = true;
    this.#count = 0;
    this.#gen = { passed: false, broken: false };
    this.#waiters.wakeAll();
  }

  getParties(): number {
    return this.#parties;
  }
  getNWaiting(): number {
    return this.#count;
  }
  isBroken(): boolean {
    return this.#broken;
  }
}
