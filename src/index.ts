/**
 * billiard: process-based parallelism for Node.js. The package's names are
 * the default context's members, as in Python's multiprocessing.
 */
import { defaultContext } from './context.js';
import './process/spawn.js';
import './process/forkserver.js';
import './process/thread.js';
import { currentProcess } from './process/process.js';
import { setProcessNameSource } from './util.js';

setProcessNameSource(() => currentProcess().name);

export * from './errors.js';
export { BaseContext, defaultContext, defineContextMember, type Context, type StartMethod } from './context.js';
export { Connection, Pipe } from './connection.js';
export {
  Process, Sentinel, activeChildren, currentProcess, isMainProcess, parentProcess,
  type ParentProcess, type ProcessOptions,
} from './process/process.js';
export { atChildExit } from './process/exit-hooks.js';
export { registerModule } from './modules.js';
export { registerClass } from './wire/codec.js';
export { taskModule, type Task } from './task.js';
export { getLogger, logToStderr, type Logger, type LogLevel } from './util.js';
export {
  Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore,
  type AcquireOptions, type Held, type LockLike,
} from './synchronize.js';
export {
  AttributeError, CValue, IndexError, RawArray, RawStructArray, RawValue, SharedArray, Struct, Synchronized,
  SynchronizedArray, Value, type FieldType, type JsType, type RawArrayView, type SharedOptions, type SimpleTypeCode,
  type TypeCode,
} from './sharedctypes.js';
export {
  FileExistsError, FileNotFoundError, KeyError, ShareableList, SharedMemory, type ShareableItem, type SharedMemoryOptions,
} from './shared-memory.js';
export { JoinableQueue, Queue, SimpleQueue, type QueueOptions } from './queues.js';
export { Pool, type ApplyOptions, type PoolOptions } from './pool/pool.js';
export { AsyncResult, MapResult, IMapIterator } from './pool/results.js';
export { currentTask, type TaskContext } from './pool/task-context.js';

const ctx = defaultContext;
export const getContext = ctx.getContext.bind(ctx);
export const getStartMethod = ctx.getStartMethod.bind(ctx);
export const setStartMethod = ctx.setStartMethod.bind(ctx);
export const getAllStartMethods = ctx.getAllStartMethods.bind(ctx);
export const cpuCount = ctx.cpuCount.bind(ctx);
export const freezeSupport = ctx.freezeSupport.bind(ctx);
export const setExecutable = ctx.setExecutable.bind(ctx);
export const allowConnectionPickling = ctx.allowConnectionPickling.bind(ctx);
export const setForkserverPreload = ctx.setForkserverPreload.bind(ctx);
export {
  BaseManager, SyncManager, Manager, Server, BaseProxy, DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy,
  QueueProxy, JoinableQueueProxy, LockProxy, SemaphoreProxy, ConditionProxy, EventProxy, BarrierProxy,
  PoolProxy, AsyncResultProxy, IMapIteratorProxy,
  type ManagerOptions, type RegisterOptions, type ServerOptions, type Proxied, type BlockOptions,
} from './managers/index.js';
