/** SyncManager's typeids: the server-side class and the client-side proxy kind of each. */
import {
  ArrayReferent, DictReferent, ListReferent, NamespaceReferent, ValueReferent,
} from './referents.js';
import {
  BarrierReferent, BoundedSemaphoreReferent, ConditionReferent, EventReferent, JoinableQueueReferent,
  LockReferent, QueueReferent, RLockReferent, SemaphoreReferent,
} from './sync-referents.js';

export const builtinTypes: Record<string, { cls: new (...args: any[]) => unknown; kind: string }> = {
  dict: { cls: DictReferent, kind: 'DictProxy' },
  list: { cls: ListReferent, kind: 'ListProxy' },
  Namespace: { cls: NamespaceReferent, kind: 'NamespaceProxy' },
  Value: { cls: ValueReferent, kind: 'ValueProxy' },
  Array: { cls: ArrayReferent, kind: 'ArrayProxy' },
  Queue: { cls: QueueReferent, kind: 'QueueProxy' },
  JoinableQueue: { cls: JoinableQueueReferent, kind: 'JoinableQueueProxy' },
  Lock: { cls: LockReferent, kind: 'LockProxy' },
  RLock: { cls: RLockReferent, kind: 'LockProxy' },
  Semaphore: { cls: SemaphoreReferent, kind: 'SemaphoreProxy' },
  BoundedSemaphore: { cls: BoundedSemaphoreReferent, kind: 'SemaphoreProxy' },
  Condition: { cls: ConditionReferent, kind: 'ConditionProxy' },
  Event: { cls: EventReferent, kind: 'EventProxy' },
  Barrier: { cls: BarrierReferent, kind: 'BarrierProxy' },
};

/** Public methods of an object: its own and inherited functions not starting with '_'. */
export function publicMethods(obj: unknown): string[] {
  const names = new Set<string>();
  let proto = obj;
  while (proto && proto !== Object.prototype && proto !== Function.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name.startsWith('_') || names.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc && typeof desc.value === 'function') names.add(name);
    }
    proto = Object.getPrototypeOf(proto);
  }
  return [...names];
}
