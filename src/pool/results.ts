/**
 * Result objects of the Pool: AsyncResult (one job), MapResult (a job made
 * of chunks, ordered list) and IMapIterator (results as they come, ordered
 * or not). Outcomes are stored, never left as rejected promises, so a result
 * nobody reads does not trip unhandled-rejection handling.
 */
import { TimeoutError, TypeError, ValueError } from '../errors.js';

export type Callback<T> = (value: T) => void;
export type ErrorCallback = (error: unknown) => void;

export interface ResultCallbacks<T> {
  callback?: Callback<T> | null;
  errorCallback?: ErrorCallback | null;
  acceptCallback?: ((pid: number, time: number) => void) | null;
  timeoutCallback?: ((info: { soft: boolean; timeout: number }) => void) | null;
}

let nextJobId = 0;
export function newJobId(): number {
  return ++nextJobId;
}

type Waiter = () => void;

/** Runs user callbacks; a throwing callback must not break the pool. */
export function safeCall(what: string, fn: Function | null | undefined, ...args: unknown[]): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (err) {
    process.stderr.write(`billiard: pool ${what} raised: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
}

function waitFor(register: (w: Waiter) => void, isReady: () => boolean, timeout: number | null | undefined): Promise<boolean> {
  // The timeout is checked first: a bad one is an error even when the result is ready.
  const bounded = timeout !== undefined && timeout !== null;
  if (bounded && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
    return Promise.reject(new ValueError(`timeout must be a number, not ${String(timeout)}`));
  }
  if (isReady()) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    register(() => { clearTimeout(timer); resolve(true); });
    if (bounded) timer = setTimeout(() => resolve(isReady()), Math.min(Math.max(0, timeout), 0x7fffffff));
  });
}

/** get()/wait() take an options object ({ timeout }); anything else is a mistake, not "no timeout". */
function timeoutOf(opts: { timeout?: number | null } | undefined): number | null | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== 'object') throw new TypeError(`expected an options object like { timeout }, not ${typeof opts}`);
  return opts.timeout;
}

export class AsyncResult<R = unknown> {
  readonly jobId = newJobId();
  readonly correlationId: string | undefined;
  #state: 'pending' | 'ok' | 'error' = 'pending';
  #value: R | undefined;
  #error: unknown;
  #waiters: Waiter[] = [];
  protected readonly callbacks: ResultCallbacks<R>;
  /** Accept times and worker pids per dispatched unit (one for apply, one per chunk for map). */
  protected acceptedBy: Array<{ pid: number; time: number } | undefined>;
  /** Per unit: asks its worker whether it has started the unit (no message needed). */
  #probes: Array<(() => { pid: number; time: number } | undefined) | undefined> = [];

  constructor(callbacks: ResultCallbacks<R> = {}, units = 1, correlationId?: string) {
    this.callbacks = callbacks;
    this.acceptedBy = new Array(units);
    this.correlationId = correlationId;
  }

  /** The value, or the job's error; rejects with TimeoutError if not ready within `timeout` ms. */
  async get(opts: { timeout?: number | null } = {}): Promise<R> {
    if (!(await this.wait(opts))) throw new TimeoutError();
    if (this.#state === 'error') throw this.#error;
    return this.#value as R;
  }

  /** Resolves when ready, or after `timeout` ms (check ready() then). */
  async wait(opts: { timeout?: number | null } = {}): Promise<boolean> {
    return waitFor((w) => this.#waiters.push(w), () => this.ready(), timeoutOf(opts));
  }

  ready(): boolean {
    return this.#state !== 'pending';
  }

  successful(): boolean {
    if (!this.ready()) throw new ValueError(`${this} not ready`);
    return this.#state === 'ok';
  }

  /** True once a worker has started the job (every chunk, for map). */
  accepted(): boolean {
    for (let i = 0; i < this.acceptedBy.length; i++) if (!this.#acceptance(i)) return false;
    return true;
  }

  workerPids(): number[] {
    const pids = new Set<number>();
    for (let i = 0; i < this.acceptedBy.length; i++) {
      const a = this.#acceptance(i);
      if (a) pids.add(a.pid);
    }
    return [...pids];
  }

  #acceptance(index: number): { pid: number; time: number } | undefined {
    let a = this.acceptedBy[index];
    if (!a) {
      a = this.#probes[index]?.();
      if (a) this.acceptedBy[index] = a;
    }
    return a;
  }

  /** @internal Unit `index` was sent to a worker that can tell whether it started it. */
  _probe(index: number, probe: (() => { pid: number; time: number } | undefined) | undefined): void {
    this.#probes[index] = probe;
  }

  toString(): string {
    return `<${this.constructor.name} job=${this.jobId} ${this.#state}>`;
  }

  /** @internal A worker started unit `index`. */
  _accept(index: number, pid: number, time: number): void {
    if (this.acceptedBy[index]) return;
    this.acceptedBy[index] = { pid, time };
    if (this.acceptedBy.length === 1) safeCall('accept callback', this.callbacks.acceptCallback, pid, time);
  }

  /** @internal */
  _timedOut(soft: boolean, timeout: number): void {
    safeCall('timeout callback', this.callbacks.timeoutCallback, { soft, timeout });
  }

  /** @internal Unit `index` finished. */
  _set(_index: number, ok: boolean, value: unknown): void {
    if (ok) this._resolve(value as R);
    else this._reject(value);
  }

  /** @internal */
  _resolve(value: R): void {
    if (this.#state !== 'pending') return;
    safeCall('callback', this.callbacks.callback, value);
    this.#value = value;
    this.#state = 'ok';
    this.#wake();
  }

  /** @internal */
  _reject(error: unknown): void {
    if (this.#state !== 'pending') return;
    safeCall('error callback', this.callbacks.errorCallback, error);
    this.#error = error;
    this.#state = 'error';
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** The result of map/starmap: chunks fill an ordered list; the first error fails it once all chunks are done. */
export class MapResult<T> extends AsyncResult<T[]> {
  #values: T[] = [];
  #remaining = 0;
  #firstError: { error: unknown } | null = null;
  #chunksize = 1;

  constructor(callbacks: ResultCallbacks<T[]> = {}) {
    super(callbacks, 0);
  }

  /** @internal The input is known: `length` items in chunks of `chunksize`. */
  _start(length: number, chunksize: number): void {
    const chunks = length === 0 ? 0 : Math.ceil(length / chunksize);
    this.acceptedBy = new Array(chunks);
    this.#values = new Array(length);
    this.#chunksize = chunksize;
    this.#remaining = chunks;
    if (chunks === 0) this._resolve([]);
  }

  override accepted(): boolean {
    return this.acceptedBy.length > 0 && super.accepted();
  }

  override _set(index: number, ok: boolean, value: unknown): void {
    if (this.ready()) return;
    this._probe(index, undefined);
    if (ok) {
      const chunk = value as T[];
      const start = index * this.#chunksize;
      for (let i = 0; i < chunk.length; i++) this.#values[start + i] = chunk[i]!;
    } else {
      this.#firstError ??= { error: value };
    }
    if (--this.#remaining > 0) return;
    if (this.#firstError) this._reject(this.#firstError.error);
    else this._resolve(this.#values);
  }
}

/**
 * Results of imap/imapUnordered as an async iterator. `next(timeout)`
 * rejects with TimeoutError when nothing arrives in time.
 */
export class IMapIterator<T> implements AsyncIterableIterator<T> {
  #ordered: boolean;
  /** Settled entries waiting to be read: by position (ordered) or in arrival order. */
  #byIndex = new Map<number, { ok: boolean; value: unknown }>();
  #arrived: Array<{ ok: boolean; value: unknown }> = [];
  #nextIndex = 0;
  #delivered = 0;
  #length: number | null = null;
  #waiters: Waiter[] = [];

  constructor(ordered: boolean) {
    this.#ordered = ordered;
  }

  /** Next result, in input order (imap) or completion order (imapUnordered). */
  async next(timeout?: number | null): Promise<IteratorResult<T>> {
    if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
      throw new ValueError(`timeout must be a number, not ${String(timeout)}`);
    }
    for (;;) {
      const entry = this.#take();
      if (entry) {
        if (!entry.ok) throw entry.value;
        return { value: entry.value as T, done: false };
      }
      if (this.#length !== null && this.#delivered >= this.#length) return { value: undefined, done: true };
      const ready = await waitFor((w) => this.#waiters.push(w), () => this.#hasEntry() || this.#finished(), timeout);
      if (!ready) throw new TimeoutError();
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Leaving the loop early (break) stops reading the input. */
  async return(): Promise<IteratorResult<T>> {
    this._abandoned = true;
    return { value: undefined, done: true };
  }

  /** @internal The consumer left: the pool stops feeding this iterator. */
  _abandoned = false;

  #finished(): boolean {
    return this.#length !== null && this.#delivered >= this.#length;
  }

  #hasEntry(): boolean {
    return this.#ordered ? this.#byIndex.has(this.#nextIndex) : this.#arrived.length > 0;
  }

  #take(): { ok: boolean; value: unknown } | undefined {
    let entry: { ok: boolean; value: unknown } | undefined;
    if (this.#ordered) {
      entry = this.#byIndex.get(this.#nextIndex);
      if (entry) {
        this.#byIndex.delete(this.#nextIndex);
        this.#nextIndex++;
      }
    } else {
      entry = this.#arrived.shift();
    }
    if (entry) this.#delivered++;
    return entry;
  }

  /** @internal Position `index` settled. */
  _set(index: number, ok: boolean, value: unknown): void {
    const entry = { ok, value };
    if (this.#ordered) this.#byIndex.set(index, entry);
    else this.#arrived.push(entry);
    this.#wake();
  }

  /** @internal The input is exhausted after `length` positions. */
  _setLength(length: number): void {
    this.#length = length;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
