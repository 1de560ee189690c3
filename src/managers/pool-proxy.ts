/**
 * The client side of a manager's Pool: PoolProxy (`await m.Pool(2)`), the
 * AsyncResult proxies its async methods return, and the iterator proxy of
 * imap/imapUnordered. Task functions cannot travel as values: each is named
 * here with describeTask (the manager's `modules` help find it) and rebuilt
 * in the manager's process, whose Pool sends it on to its workers.
 */
import type { Address } from '../connection/address.js';
import { SerializationError, TypeError } from '../errors.js';
import type { ApplyOptions, PoolOptions } from '../pool/options.js';
import type { ResultCallbacks } from '../pool/results.js';
import { describeTask } from '../task.js';
import { ABORTABLE, type TaskMarker, type WirePoolOptions } from './pool-referent.js';
import { addressKey } from './protocol.js';
import { BaseProxy, registerProxyKind } from './proxy.js';

type Fn<A extends unknown[] = any[], R = unknown> = (...args: A) => R;
type Input<T> = Iterable<T> | AsyncIterable<T>;
type MapOptions = { chunksize?: number | null } & Pick<ApplyOptions, 'timeout' | 'softTimeout'>;
/** Callbacks run in the calling process, once the result is ready. */
type ClientCallbacks<R> = Pick<ResultCallbacks<R>, 'callback' | 'errorCallback'>;

// ---- naming tasks ------------------------------------------------------------------
const managerModules = new Map<string, readonly string[]>();

/** @internal The `modules` option of the manager at `address` (used to name tasks given to its Pool). */
export function _setManagerModules(address: Address, modules: readonly string[]): void {
  managerModules.set(addressKey(address), modules);
}

function taskMarker(fn: unknown, modules: readonly string[]): TaskMarker {
  return { '#billiardTask': describeTask(fn, modules) };
}

const hookOptions = ['onProcessUp', 'onProcessDown', 'onProcessExit', 'onTimeoutSet', 'onTimeoutCancel', 'semaphore'] as const;

/** @internal Pool options as they travel to the manager: the initializer named, the context as its start method. */
export function _wirePoolOptions(opts: number | PoolOptions | null | undefined, modules: readonly string[]): WirePoolOptions {
  const options: PoolOptions = typeof opts === 'number' ? { processes: opts } : opts ?? {};
  const { initializer, context, ...rest } = options;
  for (const key of hookOptions) {
    if (rest[key] !== undefined && rest[key] !== null) {
      throw new TypeError(`the Pool option ${key} cannot be given to a manager's Pool: it would have to run in the manager's process`);
    }
  }
  const wire: WirePoolOptions = { ...rest };
  if (initializer !== undefined && initializer !== null) wire.initializer = taskMarker(initializer, modules);
  if (context) wire.startMethod = context.name;
  return wire;
}

/** A copy of the input as an array (generators and async iterables cannot travel). */
async function itemsOf<T>(iterable: Input<T>): Promise<T[]> {
  if (Array.isArray(iterable)) return iterable;
  if (iterable !== null && iterable !== undefined) {
    if (typeof (iterable as Iterable<T>)[Symbol.iterator] === 'function') return Array.from(iterable as Iterable<T>);
    if (typeof (iterable as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
      const items: T[] = [];
      for await (const item of iterable as AsyncIterable<T>) items.push(item);
      return items;
    }
  }
  throw new SerializationError(`expected an iterable, not ${iterable === null ? 'null' : typeof iterable}`);
}

function clientCallbacks<R>(opts: ResultCallbacks<R>): ClientCallbacks<R> {
  if (opts.acceptCallback || opts.timeoutCallback) {
    throw new TypeError("acceptCallback and timeoutCallback cannot be given to a manager's Pool: they would have to run in the manager's process");
  }
  return { callback: opts.callback ?? null, errorCallback: opts.errorCallback ?? null };
}

function reportCallbackError(what: string, err: unknown): void {
  process.stderr.write(`billiard: pool ${what} raised: ${err instanceof Error ? err.stack : String(err)}\n`);
}

/** Run the callbacks here when the result is ready (waiting for it keeps this process alive, as a local Pool's pending job does). */
function attachCallbacks<R>(result: AsyncResultProxy<R>, { callback, errorCallback }: ClientCallbacks<R>): void {
  if (!callback && !errorCallback) return;
  result.get().then(
    (value) => {
      try { callback?.(value); } catch (err) { reportCallbackError('callback', err); }
    },
    (err) => {
      try { errorCallback?.(err); } catch (e) { reportCallbackError('error callback', e); }
    },
  );
}

function withoutCallbacks<O extends object>(opts: O): Omit<O, keyof ResultCallbacks<unknown>> {
  const { callback: _c, errorCallback: _e, acceptCallback: _a, timeoutCallback: _t, ...rest } = opts as O & ResultCallbacks<unknown>;
  return rest;
}

// ---- proxies ---------------------------------------------------------------------------
/** The result of applyAsync/mapAsync/starmapAsync, living in the manager's process. */
export class AsyncResultProxy<R = unknown> extends BaseProxy {
  /** The value, or the job's error (with its class); rejects with TimeoutError if not ready within `timeout` ms. */
  get(opts: { timeout?: number | null } = {}): Promise<R> {
    return this.callMethod('get', [opts]);
  }
  /** Resolves true when ready, false after `timeout` ms. */
  wait(opts: { timeout?: number | null } = {}): Promise<boolean> {
    return this.callMethod('wait', [opts]);
  }
  ready(): Promise<boolean> {
    return this.callMethod('ready');
  }
  /** Rejects with ValueError while not ready. */
  successful(): Promise<boolean> {
    return this.callMethod('successful');
  }
  accepted(): Promise<boolean> {
    return this.callMethod('accepted');
  }
  workerPids(): Promise<number[]> {
    return this.callMethod('workerPids');
  }
}

/** The results of imap/imapUnordered: an async iterator fetching each result from the manager's process. */
export class IMapIteratorProxy<T = unknown> extends BaseProxy implements AsyncIterableIterator<T> {
  #done = false;

  /** Next result; rejects with TimeoutError when nothing arrives within `timeout` ms, or with the task's error. */
  async next(timeout?: number | null): Promise<IteratorResult<T>> {
    if (this.#done) return { value: undefined, done: true };
    const result = (await this.callMethod('next', timeout === undefined || timeout === null ? [] : [timeout])) as IteratorResult<T>;
    if (result.done) this.#finish();
    return result.done ? { value: undefined, done: true } : result;
  }

  /** Leaving the loop early (break): the pool stops reading the input. */
  async return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      await this.callMethod('return').catch(() => undefined);
      this.#finish();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #finish(): void {
    this.#done = true;
    this.release();
  }
}

/**
 * A Pool living in the manager's process (`await manager.Pool(2)`): the
 * library Pool's methods, each returning a Promise. Task functions are sent
 * by reference (exported from a module: the main module, one in the
 * manager's `modules`, a registered one, or a taskModule handle) or by source.
 */
export class PoolProxy extends BaseProxy {
  #task(fn: unknown): TaskMarker {
    return taskMarker(fn, managerModules.get(addressKey(this._address)) ?? []);
  }

  /** Run fn(...args) in a worker of the manager's pool and resolve with its result. */
  async apply<A extends unknown[], R>(fn: Fn<A, R>, args?: A, opts: ApplyOptions = {}): Promise<Awaited<R>> {
    if (opts.signal) {
      const result = await this.applyAsync(fn, args, opts);
      try {
        return await result.get();
      } finally {
        result.release();
      }
    }
    return this.callMethod('apply', [this.#task(fn), args ?? [], opts]);
  }

  /** Submit fn(...args); resolves with a proxy of its AsyncResult. `callback`/`errorCallback` run in this process. */
  async applyAsync<A extends unknown[], R>(
    fn: Fn<A, R>, args?: A, opts: ApplyOptions & ResultCallbacks<Awaited<R>> = {},
  ): Promise<AsyncResultProxy<Awaited<R>>> {
    const callbacks = clientCallbacks(opts);
    const { signal, ...rest } = withoutCallbacks(opts);
    const wire = signal ? { ...rest, signal: ABORTABLE } : rest;
    const result = (await this.callMethod('applyAsync', [this.#task(fn), args ?? [], wire])) as AsyncResultProxy<Awaited<R>>;
    if (signal) forwardAbort(signal, result);
    attachCallbacks(result, callbacks);
    return result;
  }

  /** fn over every item, results in input order; rejects with the first error once every chunk is done. */
  async map<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize?: number | null): Promise<Awaited<R>[]> {
    const marker = this.#task(fn);
    return this.callMethod('map', [marker, await itemsOf(iterable), chunksize ?? null]);
  }

  async mapAsync<T, R>(
    fn: Fn<[T], R>, iterable: Input<T>, opts: MapOptions & ResultCallbacks<Awaited<R>[]> = {},
  ): Promise<AsyncResultProxy<Awaited<R>[]>> {
    return this.#mapAsync('mapAsync', fn, iterable, opts);
  }

  async starmap<A extends unknown[], R>(fn: Fn<A, R>, iterable: Input<A>, chunksize?: number | null): Promise<Awaited<R>[]> {
    const marker = this.#task(fn);
    return this.callMethod('starmap', [marker, await itemsOf(iterable), chunksize ?? null]);
  }

  async starmapAsync<A extends unknown[], R>(
    fn: Fn<A, R>, iterable: Input<A>, opts: MapOptions & ResultCallbacks<Awaited<R>[]> = {},
  ): Promise<AsyncResultProxy<Awaited<R>[]>> {
    return this.#mapAsync('starmapAsync', fn, iterable, opts);
  }

  async #mapAsync<R>(method: string, fn: Fn, iterable: Input<unknown>, opts: MapOptions & ResultCallbacks<R>): Promise<AsyncResultProxy<R>> {
    const callbacks = clientCallbacks(opts);
    const marker = this.#task(fn);
    const result = (await this.callMethod(method, [marker, await itemsOf(iterable), withoutCallbacks(opts)])) as AsyncResultProxy<R>;
    attachCallbacks(result, callbacks);
    return result;
  }

  /** Results in input order, fetched one by one: `for await (const r of await pool.imap(fn, xs))`. */
  async imap<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize = 1): Promise<IMapIteratorProxy<Awaited<R>>> {
    const marker = this.#task(fn);
    return this.callMethod('imap', [marker, await itemsOf(iterable), chunksize]);
  }

  /** Results in completion order. */
  async imapUnordered<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize = 1): Promise<IMapIteratorProxy<Awaited<R>>> {
    const marker = this.#task(fn);
    return this.callMethod('imapUnordered', [marker, await itemsOf(iterable), chunksize]);
  }

  /** No more submissions; the workers exit once every submitted job is done. */
  close(): Promise<void> {
    return this.callMethod('close');
  }

  /** Settle every pending job with Terminated and kill every worker; resolves once they are gone. */
  terminate(): Promise<void> {
    return this.callMethod('terminate');
  }

  /** Wait for the workers to exit after close() or terminate() (ValueError while running). */
  join(): Promise<void> {
    return this.callMethod('join');
  }

  /** billiard's PoolProxy.__exit__: terminate. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  // billiard's extras
  /** Number of workers the pool keeps. */
  get processes(): Promise<number> {
    return this.callMethod('getProcesses');
  }
  /** Pids of the live workers. */
  workerPids(): Promise<number[]> {
    return this.callMethod('workerPids');
  }
  grow(n?: number): Promise<void> {
    return this.callMethod('grow', n === undefined ? [] : [n]);
  }
  shrink(n?: number): Promise<void> {
    return this.callMethod('shrink', n === undefined ? [] : [n]);
  }
  restart(): Promise<void> {
    return this.callMethod('restart');
  }
  terminateJob(pid: number, signal?: NodeJS.Signals): Promise<void> {
    return this.callMethod('terminateJob', signal === undefined ? [pid] : [pid, signal]);
  }
}

/** An AbortSignal stays here: aborting it aborts the job in the manager's pool. */
function forwardAbort(signal: AbortSignal, result: AsyncResultProxy<unknown>): void {
  const abort = (): void => {
    const reason = signal.reason instanceof Error && signal.reason.name !== 'AbortError' ? signal.reason : undefined;
    result.callMethod('abort', [reason]).catch(() => undefined);
  };
  if (signal.aborted) {
    abort();
    return;
  }
  signal.addEventListener('abort', abort, { once: true });
  result.wait().then(() => signal.removeEventListener('abort', abort), () => signal.removeEventListener('abort', abort));
}

registerProxyKind('PoolProxy', PoolProxy as never);
registerProxyKind('AsyncResultProxy', AsyncResultProxy as never);
registerProxyKind('IMapIteratorProxy', IMapIteratorProxy as never);
