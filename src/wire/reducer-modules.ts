/**
 * Which module teaches the codec each library object, so that a process
 * that receives one before loading that module (a child at boot) imports it
 * on demand instead of paying for every module at start-up.
 */
const SYNC = '../synchronize.js';
const SHAREDCTYPES = '../sharedctypes.js';
const SHARED_MEMORY = '../shared-memory.js';
const QUEUES = '../queues.js';

export const reducerModules: Readonly<Record<string, string>> = {
  Connection: '../connection.js',
  BaseProxy: '../managers/proxies.js',
  ManagerRef: '../managers/proxies.js',
  Lock: SYNC, RLock: SYNC, Semaphore: SYNC, BoundedSemaphore: SYNC, Condition: SYNC, Event: SYNC, Barrier: SYNC,
  RawValue: SHAREDCTYPES, RawStructArray: SHAREDCTYPES, Synchronized: SHAREDCTYPES, SynchronizedArray: SHAREDCTYPES,
  ...Object.fromEntries([...'bBhHiIlLqQfdcu'].map((code) => [`RawArray.${code}`, SHAREDCTYPES])),
  SharedMemory: SHARED_MEMORY, ShareableList: SHARED_MEMORY,
  Queue: QUEUES, SimpleQueue: QUEUES,
};
