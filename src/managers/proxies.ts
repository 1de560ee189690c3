/**
 * The typed proxies of SyncManager's types. Method names are Python's, with
 * its dunder methods spelled out (`d[k]` → `d.get(k)`, `d[k] = v` →
 * `d.set(k, v)`, `k in d` → `d.has(k)`, `len(d)` → `d.len()` …); every
 * method returns a Promise and values come back as copies.
 */
import { BaseProxy, registerProxyKind } from './proxy.js';
import './errors.js';

export { BaseProxy };
export { PoolProxy, AsyncResultProxy, IMapIteratorProxy } from './pool-proxy.js';

export interface BlockOptions {
  block?: boolean;
  /** milliseconds; null/undefined: no limit */
  timeout?: number | null;
}

/** A proxy for objects of a user type: each method of T, returning a Promise of its (awaited) result. */
export type Proxied<T> = BaseProxy & {
  [K in keyof T as K extends keyof BaseProxy ? never : T[K] extends (...args: any[]) => any ? K : never]:
    T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export class DictProxy<K = unknown, V = unknown> extends BaseProxy {
  /** `d[k]`: rejects with KeyError when missing. With a default: `d.get(k, dflt)`. */
  get(key: K): Promise<V>;
  get<D>(key: K, dflt: D): Promise<V | D>;
  get(...args: unknown[]): Promise<unknown> {
    return this.callMethod('get', args);
  }
  set(key: K, value: V): Promise<void> {
    return this.callMethod('set', [key, value]);
  }
  /** `del d[k]`: KeyError when missing. */
  delete(key: K): Promise<void> {
    return this.callMethod('delete', [key]);
  }
  has(key: K): Promise<boolean> {
    return this.callMethod('has', [key]);
  }
  len(): Promise<number> {
    return this.callMethod('len');
  }
  keys(): Promise<K[]> {
    return this.callMethod('keys');
  }
  values(): Promise<V[]> {
    return this.callMethod('values');
  }
  items(): Promise<[K, V][]> {
    return this.callMethod('items');
  }
  update(other: Record<string, V> | Map<K, V> | Iterable<readonly [K, V]>): Promise<void> {
    return this.callMethod('update', [other]);
  }
  pop(key: K): Promise<V>;
  pop<D>(key: K, dflt: D): Promise<V | D>;
  pop(...args: unknown[]): Promise<unknown> {
    return this.callMethod('pop', args);
  }
  popitem(): Promise<[K, V]> {
    return this.callMethod('popitem');
  }
  setdefault(key: K, value: V): Promise<V> {
    return this.callMethod('setdefault', [key, value]);
  }
  clear(): Promise<void> {
    return this.callMethod('clear');
  }
  /** A plain local copy. */
  copy(): Promise<Map<K, V>> {
    return this.callMethod('copy');
  }
}

export class ListProxy<T = unknown> extends BaseProxy {
  /** `l[i]` (negative counts from the end); IndexError when out of range. */
  get(i: number): Promise<T> {
    return this.callMethod('get', [i]);
  }
  set(i: number, value: T): Promise<void> {
    return this.callMethod('set', [i, value]);
  }
  /** `del l[i]`. */
  delete(i: number): Promise<void> {
    return this.callMethod('delete', [i]);
  }
  len(): Promise<number> {
    return this.callMethod('len');
  }
  /** A plain local copy of the whole list. */
  toArray(): Promise<T[]> {
    return this.callMethod('toArray');
  }
  slice(start?: number, end?: number): Promise<T[]> {
    return this.callMethod('slice', [start, end]);
  }
  /** `x in l` (by value). */
  has(x: T): Promise<boolean> {
    return this.callMethod('has', [x]);
  }
  append(x: T): Promise<void> {
    return this.callMethod('append', [x]);
  }
  extend(xs: Iterable<T>): Promise<void> {
    return this.callMethod('extend', [[...xs]]);
  }
  insert(i: number, x: T): Promise<void> {
    return this.callMethod('insert', [i, x]);
  }
  pop(i?: number): Promise<T> {
    return this.callMethod('pop', i === undefined ? [] : [i]);
  }
  remove(x: T): Promise<void> {
    return this.callMethod('remove', [x]);
  }
  index(x: T, start?: number, end?: number): Promise<number> {
    return this.callMethod('index', [x, start, end].filter((v) => v !== undefined));
  }
  count(x: T): Promise<number> {
    return this.callMethod('count', [x]);
  }
  reverse(): Promise<void> {
    return this.callMethod('reverse');
  }
  sort(opts: { reverse?: boolean } = {}): Promise<void> {
    return this.callMethod('sort', [opts]);
  }
}

/** Namespace: `ns.x` → `ns.get('x')`, `ns.x = v` → `ns.set('x', v)`. Names starting with '_' stay local to the proxy. */
export class NamespaceProxy<T extends Record<string, unknown> = Record<string, any>> extends BaseProxy {
  readonly #local = new Map<string, unknown>();
  get<N extends keyof T & string>(name: N): Promise<T[N]> {
    if (name.startsWith('_')) return this.#localGet(name);
    return this.callMethod('get', [name]);
  }
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    if (name.startsWith('_')) {
      this.#local.set(name, value);
      return Promise.resolve();
    }
    return this.callMethod('set', [name, value]);
  }
  delete(name: keyof T & string): Promise<void> {
    if (name.startsWith('_')) {
      this.#local.delete(name);
      return Promise.resolve();
    }
    return this.callMethod('delete', [name]);
  }
  has(name: keyof T & string): Promise<boolean> {
    if (name.startsWith('_')) return Promise.resolve(this.#local.has(name));
    return this.callMethod('has', [name]);
  }
  /** A plain copy of the attributes. */
  toObject(): Promise<Partial<T>> {
    return this.callMethod('toObject');
  }
  async #localGet(name: string): Promise<any> {
    if (!this.#local.has(name)) {
      const { AttributeError } = await import('./errors.js');
      throw new AttributeError(`'NamespaceProxy' object has no attribute '${name}'`);
    }
    return this.#local.get(name);
  }
}

export class ValueProxy<T = unknown> extends BaseProxy {
  get(): Promise<T> {
    return this.callMethod('get');
  }
  set(value: T): Promise<void> {
    return this.callMethod('set', [value]);
  }
}

export class ArrayProxy<T = number> extends BaseProxy {
  len(): Promise<number> {
    return this.callMethod('len');
  }
  get(i: number): Promise<T> {
    return this.callMethod('get', [i]);
  }
  set(i: number, value: T): Promise<void> {
    return this.callMethod('set', [i, value]);
  }
  toArray(): Promise<T[]> {
    return this.callMethod('toArray');
  }
}

export class QueueProxy<T = unknown> extends BaseProxy {
  put(obj: T, opts?: BlockOptions): Promise<void> {
    return this.callMethod('put', opts === undefined ? [obj] : [obj, opts]);
  }
  putNowait(obj: T): Promise<void> {
    return this.callMethod('putNowait', [obj]);
  }
  /** Rejects with Empty after `timeout` ms, or at once with `{ block: false }`. */
  get(opts?: BlockOptions): Promise<T> {
    return this.callMethod('get', opts === undefined ? [] : [opts]);
  }
  getNowait(): Promise<T> {
    return this.callMethod('getNowait');
  }
  qsize(): Promise<number> {
    return this.callMethod('qsize');
  }
  empty(): Promise<boolean> {
    return this.callMethod('empty');
  }
  full(): Promise<boolean> {
    return this.callMethod('full');
  }
}

export class JoinableQueueProxy<T = unknown> extends QueueProxy<T> {
  taskDone(): Promise<void> {
    return this.callMethod('taskDone');
  }
  join(): Promise<void> {
    return this.callMethod('join');
  }
}

/** Lock and RLock (Python's AcquirerProxy). */
export class LockProxy extends BaseProxy {
  acquire(opts?: BlockOptions): Promise<boolean> {
    return this.callMethod('acquire', opts === undefined ? [] : [opts]);
  }
  override release(): Promise<void> {
    return this.callMethod('release');
  }
  /** Run `fn` holding the lock. */
  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
  /** Drop this proxy's reference (BaseProxy.release: the name `release` is the lock's). */
  releaseProxy(): void {
    BaseProxy.prototype.release.call(this);
  }
  override [Symbol.dispose](): void {
    this.releaseProxy();
  }
}

export class SemaphoreProxy extends LockProxy {
  override release(n?: number): Promise<void> {
    return this.callMethod('release', n === undefined ? [] : [n]);
  }
  override getValue(): Promise<number> {
    return this.callMethod('getValue');
  }
}

export class ConditionProxy extends LockProxy {
  /** Wait for notify(), at most `timeout` ms; resolves false on timeout. */
  wait(timeout?: number | null): Promise<boolean> {
    return this.callMethod('wait', timeout === undefined ? [] : [timeout]);
  }
  /** Wait until `predicate()` (evaluated here, holding the lock) is truthy. */
  async waitFor<R>(predicate: () => R | Promise<R>, timeout?: number | null): Promise<R> {
    const deadline = timeout === null || timeout === undefined ? null : Date.now() + timeout;
    let result = await predicate();
    while (!result) {
      const left = deadline === null ? null : deadline - Date.now();
      if (left !== null && left <= 0) break;
      await this.wait(left);
      result = await predicate();
    }
    return result;
  }
  notify(n?: number): Promise<void> {
    return this.callMethod('notify', n === undefined ? [] : [n]);
  }
  notifyAll(): Promise<void> {
    return this.callMethod('notifyAll');
  }
}

export class EventProxy extends BaseProxy {
  isSet(): Promise<boolean> {
    return this.callMethod('isSet');
  }
  set(): Promise<void> {
    return this.callMethod('set');
  }
  clear(): Promise<void> {
    return this.callMethod('clear');
  }
  wait(timeout?: number | null): Promise<boolean> {
    return this.callMethod('wait', timeout === undefined ? [] : [timeout]);
  }
}

export class BarrierProxy extends BaseProxy {
  /** Resolves with this party's index; BrokenBarrierError after abort, reset or timeout. */
  wait(timeout?: number | null): Promise<number> {
    return this.callMethod('wait', timeout === undefined ? [] : [timeout]);
  }
  reset(): Promise<void> {
    return this.callMethod('reset');
  }
  abort(): Promise<void> {
    return this.callMethod('abort');
  }
  get parties(): Promise<number> {
    return this.callMethod('getParties');
  }
  get nWaiting(): Promise<number> {
    return this.callMethod('getNWaiting');
  }
  get broken(): Promise<boolean> {
    return this.callMethod('isBroken');
  }
}

for (const [name, cls] of Object.entries({
  DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy, QueueProxy, JoinableQueueProxy,
  LockProxy, SemaphoreProxy, ConditionProxy, EventProxy, BarrierProxy,
})) {
  registerProxyKind(name, cls as never);
}
