/**
 * Synchronization primitives shared by processes and threads: Lock, RLock,
 * Semaphore, BoundedSemaphore, Condition, Event, Barrier (CPython's
 * multiprocessing.synchronize). Their state lives in the shared heap
 * (heap.ts); hot paths are JS Atomics, blocking uses futexes.
 *
 * Every object may be passed to another process in any message (Process
 * arguments, queue items, pool tasks): the receiver attaches the same memory.
 */
import { defineContextMember } from './context.js';
import { Barrier } from './synchronize/barrier.js';
import { Condition, Event } from './synchronize/condition.js';
import { BoundedSemaphore, Lock, RLock, Semaphore } from './synchronize/semlock.js';

export { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore };
export type { AcquireOptions, Held, LockLike } from './synchronize/semlock.js';

declare module './context.js' {
  interface BaseContext {
    Lock: typeof Lock;
    RLock: typeof RLock;
    Semaphore: typeof Semaphore;
    BoundedSemaphore: typeof BoundedSemaphore;
    Condition: typeof Condition;
    Event: typeof Event;
    Barrier: typeof Barrier;
  }
}

for (const [name, cls] of Object.entries({ Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier })) {
  defineContextMember(name, () => cls);
}
