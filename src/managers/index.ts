/** Managers: shared objects served by a manager process, used through proxies. */
export { BaseManager, SyncManager, Manager, type ManagerOptions, type RegisterOptions } from './manager.js';
export { Server, type ServerOptions } from './server.js';
export {
  BaseProxy, DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy, QueueProxy, JoinableQueueProxy,
  LockProxy, SemaphoreProxy, ConditionProxy, EventProxy, BarrierProxy, PoolProxy, AsyncResultProxy, IMapIteratorProxy,
  type Proxied, type BlockOptions,
} from './proxies.js';
