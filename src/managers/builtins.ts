/** SyncManager's typeids: the server-side class and the client-side proxy kind of each. */
import {
  ArrayReferent, DictReferent, ListReferent, NamespaceReferent, ValueReferent,
} from './referents.js';
import {
  BarrierReferent, BoundedSemaphoreReferent, ConditionReferent, EventReferent, JoinableQueueReferent,
  LockReferent, QueueReferent, RLockReferent, SemaphoreReferent,
} from './sync-referents.js';
import {
  ASYNC_RESULT_EXPOSED, ITERATOR_EXPOSED, POOL_EXPOSED, POOL_METHOD_TO_TYPEID, createPool,
} from './pool-referent.js';

export interface BuiltinType {
  /** A class (called with new) or a factory function; null: only returned by other methods (methodToTypeid). */
  cls: (new (...args: any[]) => unknown) | ((...args: any[]) => unknown) | null;
  kind: string;
  exposed?: string[];
  methodToTypeid?: Record<string, string>;
}

export const builtinTypes: Record<string, BuiltinType> = {
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
  Pool: { cls: createPool, kind: 'PoolProxy', exposed: POOL_EXPOSED, methodToTypeid: POOL_METHOD_TO_TYPEID },
  AsyncResult: { cls: null, kind: 'AsyncResultProxy', exposed: ASYNC_RESULT_EXPOSED },
  Iterator: { cls: null, kind: 'IMapIteratorProxy', exposed: ITERATOR_EXPOSED },
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
