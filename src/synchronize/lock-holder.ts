/**
 * An object guarded by a Lock or RLock that it exposes: the lock's methods,
 * delegated (Condition, and the synchronized wrappers of sharedctypes).
 */
import type { AcquireOptions } from './common.js';
import type { Held, Lock, RLock } from './semlock.js';

export abstract class LockHolder {
  readonly #lock: Lock | RLock;

  constructor(lock: Lock | RLock) {
    this.#lock = lock;
  }

  /** The lock guarding this object. */
  protected get heldLock(): Lock | RLock {
    return this.#lock;
  }

  acquire(opts?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(opts);
  }
  acquireSync(opts?: AcquireOptions): boolean {
    return this.#lock.acquireSync(opts);
  }
  release(): void {
    this.#lock.release();
  }
  withLock<R>(fn: () => R | Promise<R>): Promise<Awaited<R>> {
    return this.#lock.withLock(fn);
  }
  holdSync(): Held {
    return this.#lock.holdSync();
  }
}
