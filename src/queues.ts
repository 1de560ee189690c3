/**
 * Queues shared by processes and threads: Queue, JoinableQueue, SimpleQueue
 * (CPython's multiprocessing.queues), over shared memory. See
 * queues/core.ts for the design and queues/queue.ts for the API's semantics.
 */
import { defineContextMember } from './context.js';
import { registerReducer } from './wire/codec.js';
import type { BlockRef } from './heap.js';
import { JoinableQueue, Queue, SimpleQueue, rebuildQueue, type QueueOptions } from './queues/queue.js';

export { JoinableQueue, Queue, SimpleQueue, type QueueOptions };

declare module './context.js' {
  interface BaseContext {
    Queue: typeof Queue;
    JoinableQueue: typeof JoinableQueue;
    SimpleQueue: typeof SimpleQueue;
  }
}

for (const [name, cls] of Object.entries({ Queue, JoinableQueue, SimpleQueue })) {
  defineContextMember(name, () => cls);
}

// Queues may travel in any message: the receiver attaches the same memory.
// (One tag for Queue and JoinableQueue: the kind is in the shared memory.)
registerReducer(Queue, 'Queue', { reduce: (q) => q._core.ref(), rebuild: (ref: BlockRef) => rebuildQueue(ref) as Queue });
registerReducer(SimpleQueue, 'SimpleQueue', {
  reduce: (q) => q._core.ref(),
  rebuild: (ref: BlockRef) => rebuildQueue(ref) as SimpleQueue,
});
