/**
 * The Pool a SyncManager keeps in its server process (CPython registers
 * 'Pool' with a PoolProxy; its async methods return AsyncResult proxies and
 * imap/imapUnordered an iterator proxy). Task functions arrive as TaskSpec
 * markers, made by the client with describeTask, and are resolved here with
 * resolveTask before the real Pool sends them on to its workers.
 */
import { defaultContext } from '../context.js';
import { TypeError } from '../errors.js';
import { Pool, type ApplyOptions, type PoolOptions } from '../pool/pool.js';
import type { AsyncResult, IMapIterator, MapResult } from '../pool/results.js';
import type { StartMethod } from '../process/start-method.js';
import { resolveTask, taskModule, type TaskSpec } from '../task.js';

/** How a task function travels to the manager's Pool. */
export interface TaskMarker {
  '#billiardTask': TaskSpec;
}

export function isTaskMarker(value: unknown): value is TaskMarker {
  return value !== null && typeof value === 'object' && '#billiardTask' in (value as object);
}

/** Pool options as they travel: functions as TaskSpec markers, the context as its start method. */
export interface WirePoolOptions extends Omit<PoolOptions, 'initializer' | 'context'> {
  initializer?: TaskMarker | null;
  startMethod?: StartMethod | null;
}

/** An AbortSignal as it travels: the client aborts through the result's `abort` method. */
export const ABORTABLE = '#abortable';

const handles = new Map<string, Function>();

/**
 * The function a marker names. A function exported by a module becomes a
 * handle on that export (its module was imported here to check it), so the
 * Pool sends it on by reference whatever this process's known modules are.
 */
async function taskOf(value: unknown): Promise<Function> {
  if (typeof value === 'function') return value;
  if (!isTaskMarker(value)) {
    throw new TypeError(`a task must be a function, not ${value === null ? 'null' : typeof value}`);
  }
  const spec = value['#billiardTask'];
  const fn = await resolveTask(spec);
  if (spec.kind !== 'ref') return fn;
  const key = `${spec.url}#${spec.name}`;
  let handle = handles.get(key);
  if (!handle) {
    handle = (taskModule<Record<string, Function>>(spec.url))[spec.name]!;
    handles.set(key, handle);
  }
  return handle;
}

type Fn = (...args: any[]) => unknown;
type MapOpts = { chunksize?: number | null } & Pick<ApplyOptions, 'timeout' | 'softTimeout'>;

function withSignal(opts: (Omit<ApplyOptions, 'signal'> & { signal?: unknown }) | undefined): { opts: ApplyOptions; abort: ((reason?: unknown) => void) | null } {
  if (!opts || opts.signal !== ABORTABLE) return { opts: (opts ?? {}) as ApplyOptions, abort: null };
  const controller = new AbortController();
  return { opts: { ...opts, signal: controller.signal }, abort: (reason) => controller.abort(reason) };
}

/** Pools of this process still running or closing (the server ends them before it exits). */
const livePools = new Set<Pool>();

function forgetWhenJoined(pool: Pool): void {
  pool.join().then(() => livePools.delete(pool), () => undefined);
}

/**
 * End every pool of this process (the manager's process, before it exits):
 * pending jobs settle with Terminated, the workers are killed and reaped.
 */
export async function terminateAllPools(): Promise<void> {
  await Promise.allSettled([...livePools].map((pool) => pool.terminate()));
  livePools.clear();
}

/** Server-side 'Pool' referent: the library Pool behind the PoolProxy's methods. */
export class PoolReferent {
  readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
    livePools.add(pool);
  }

  async apply(fn: unknown, args?: unknown[], opts?: ApplyOptions): Promise<unknown> {
    return this.pool.apply((await taskOf(fn)) as Fn, args ?? [], withSignal(opts).opts);
  }

  async applyAsync(fn: unknown, args?: unknown[], opts?: ApplyOptions): Promise<AsyncResult<unknown>> {
    const { opts: o, abort } = withSignal(opts);
    const result = this.pool.applyAsync((await taskOf(fn)) as Fn, args ?? [], o);
    if (abort) Object.defineProperty(result, 'abort', { value: abort, configurable: true });
    return result;
  }

  async map(fn: unknown, iterable: unknown[], chunksize?: number | null): Promise<unknown[]> {
    return this.pool.map((await taskOf(fn)) as Fn, iterable, chunksize);
  }

  async mapAsync(fn: unknown, iterable: unknown[], opts?: MapOpts): Promise<MapResult<unknown>> {
    return this.pool.mapAsync((await taskOf(fn)) as Fn, iterable, opts ?? {});
  }

  async starmap(fn: unknown, iterable: unknown[][], chunksize?: number | null): Promise<unknown[]> {
    return this.pool.starmap((await taskOf(fn)) as Fn, iterable, chunksize);
  }

  async starmapAsync(fn: unknown, iterable: unknown[][], opts?: MapOpts): Promise<MapResult<unknown>> {
    return this.pool.starmapAsync((await taskOf(fn)) as Fn, iterable, opts ?? {});
  }

  async imap(fn: unknown, iterable: unknown[], chunksize?: number): Promise<IMapIterator<unknown>> {
    return this.pool.imap((await taskOf(fn)) as Fn, iterable, chunksize ?? 1);
  }

  async imapUnordered(fn: unknown, iterable: unknown[], chunksize?: number): Promise<IMapIterator<unknown>> {
    return this.pool.imapUnordered((await taskOf(fn)) as Fn, iterable, chunksize ?? 1);
  }

  close(): void {
    this.pool.close();
    forgetWhenJoined(this.pool);
  }

  join(): Promise<void> {
    return this.pool.join();
  }

  async terminate(): Promise<void> {
    await this.pool.terminate();
    livePools.delete(this.pool);
  }

  // billiard's extras
  workerPids(): number[] {
    return this.pool.workerPids();
  }

  getProcesses(): number {
    return this.pool.processes;
  }

  grow(n?: number): void {
    this.pool.grow(n);
  }

  shrink(n?: number): void {
    this.pool.shrink(n);
  }

  restart(): void {
    this.pool.restart();
  }

  terminateJob(pid: number, signal?: NodeJS.Signals): void {
    this.pool.terminateJob(pid, signal);
  }

  /**
   * The last proxy is gone: no more submissions, and the workers exit once
   * the jobs already given are done (a result proxy may still wait for one).
   */
  _dispose(): void {
    this.close();
  }
}

/** The 'Pool' typeid's factory: `manager.Pool(opts)` runs this in the server. */
export async function createPool(opts: number | WirePoolOptions | null = {}): Promise<PoolReferent> {
  const wire: WirePoolOptions = typeof opts === 'number' ? { processes: opts } : opts ?? {};
  const { initializer, startMethod, ...rest } = wire;
  const options: PoolOptions = { ...rest };
  if (initializer) options.initializer = (await taskOf(initializer)) as Fn;
  if (startMethod) options.context = defaultContext.getContext(startMethod);
  return new PoolReferent(new Pool(options));
}

export const POOL_EXPOSED = [
  'apply', 'applyAsync', 'map', 'mapAsync', 'starmap', 'starmapAsync', 'imap', 'imapUnordered',
  'close', 'join', 'terminate', 'workerPids', 'getProcesses', 'grow', 'shrink', 'restart', 'terminateJob',
];

export const POOL_METHOD_TO_TYPEID: Record<string, string> = {
  applyAsync: 'AsyncResult', mapAsync: 'AsyncResult', starmapAsync: 'AsyncResult',
  imap: 'Iterator', imapUnordered: 'Iterator',
};

export const ASYNC_RESULT_EXPOSED = ['get', 'wait', 'ready', 'successful', 'accepted', 'workerPids', 'abort'];

export const ITERATOR_EXPOSED = ['next', 'return'];
