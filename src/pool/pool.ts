/**
 * Pool: CPython's Pool API with billiard's supervision. One private channel
 * per worker (no shared lock to orphan), least-loaded dispatch with a small
 * adaptive prefetch, precise per-job time limits armed on acceptance, lost
 * workers detected from their exit, and a terminate() that always settles
 * everything and returns.
 */
import {
  RemoteTraceback, RestartFreqExceeded, SerializationError, Terminated, TimeLimitExceeded,
  ValueError, WorkerLostError,
} from '../errors.js';
import { defaultContext, defineContextMember, type Context } from '../context.js';
import { describeTask, taskModule, type TaskSpec } from '../task.js';
import { codec, explain, findUnserializable, registerReducer } from '../wire/codec.js';
import { addKnownModules, importForDecode } from '../modules.js';
import { PoolTag, TaskKind, nowMs, type WorkerOptions } from './protocol.js';
import { AsyncResult, IMapIterator, MapResult, newJobId, safeCall, type ResultCallbacks } from './results.js';
import { WorkerHandle, humanStatus } from './worker-handle.js';
import type { Job, JobSink } from './job.js';
import { checkDuration, resolveOptions, type ApplyOptions, type PoolOptions, type Resolved, type SlotSemaphore } from './options.js';
import { RestartWindow } from './restart-window.js';
import { collect, feedImap, isSyncIterable, type Input } from './imap-feed.js';
import { checkArgs, checkCallbacks, checkChunksize, checkIterable, starmapArgs } from './arguments.js';
import { atDeadline, type Deadline } from './deadline.js';
import { RawArray } from '../sharedctypes.js';

export type { ApplyOptions, PoolOptions };

type Fn<A extends unknown[] = any[], R = unknown> = (...args: A) => R;

const workerModule = taskModule<typeof import('./worker.js')>(new URL('./worker.js', import.meta.url));

/** Jobs a worker may hold (one running, the rest queued at it), by typical task duration. */
function prefetchFor(avgTaskMs: number | null): number {
  if (avgTaskMs === null) return 2;
  if (avgTaskMs < 0.1) return 256;
  if (avgTaskMs < 1) return 64;
  if (avgTaskMs < 5) return 8;
  return 1;
}

const enum State { Run, Close, Terminate }

export class Pool {
  #state = State.Run;
  readonly #opts: Resolved;
  readonly #hooks: PoolOptions;
  readonly #ctx: Context;
  readonly #modules: string[];
  readonly #workerOptions: Omit<WorkerOptions, 'progress'>;
  readonly #workers = new Set<WorkerHandle>();
  #size: number;
  #queue: Job[] = [];
  #queueHead = 0;
  readonly #pending = new Set<Job>();
  // Function ids go by what is sent (a module export, or the source and name), not by the
  // function object: an inline `pool.apply((x) => x * 2, …)` is a new object on every call,
  // and ids by identity grew these tables, and every worker's, by one entry per call.
  readonly #idOfFunction = new WeakMap<Function, number>(); // fast path; lets functions be collected
  readonly #idOfSpec = new Map<string, number>();
  readonly #definitions = new Map<number, Buffer>();
  readonly #restarts: RestartWindow;
  #avgTaskMs: number | null = null;
  #workerCount = 0;
  #freeSlots: number;
  readonly #semaphore: SlotSemaphore | null;
  #joinWaiters: Array<() => void> = [];
  /** A ref'd handle while jobs are pending or join() is awaited (the workers themselves are daemonic). */
  #keepAlive: NodeJS.Timeout | null = null;
  #broken: Error | null = null;
  #replenishing = false;
  /** Workers in a row that died without finishing a task (a broken initializer, say). */
  #futileDeaths = 0;
  /** map/imap inputs still being read: work that is coming, so close() must wait for it. */
  #openInputs = 0;

  constructor(opts: number | PoolOptions = {}) {
    const options: PoolOptions = typeof opts === 'number' ? { processes: opts } : opts ?? {};
    this.#ctx = options.context ?? defaultContext;
    this.#opts = resolveOptions(options, this.#ctx.cpuCount());
    this.#hooks = options;
    this.#modules = options.modules ?? [];
    addKnownModules(this.#modules);
    this.#size = this.#opts.processes;
    this.#freeSlots = this.#size;
    this.#semaphore = options.semaphore ?? null;
    this.#restarts = new RestartWindow(this.#opts.maxRestarts, this.#opts.maxRestartFreq);
    const initializer: TaskSpec | null = options.initializer ? describeTask(options.initializer, this.#modules) : null;
    this.#workerOptions = {
      initializer,
      initargs: options.initargs ?? [],
      reportMemory: this.#opts.maxMemoryPerChild !== null,
    };
    if (!Array.isArray(this.#workerOptions.initargs)) throw new ValueError('initargs must be an array');
    const started: WorkerHandle[] = [];
    try {
      for (let i = 0; i < this.#size; i++) started.push(this.#startWorker());
    } catch (err) {
      for (const w of started) w.kill('SIGKILL');
      this.#state = State.Terminate;
      throw err;
    }
  }

  /** Number of workers the pool keeps. */
  get processes(): number {
    return this.#size;
  }

  /** Pids of the live workers. */
  workerPids(): number[] {
    return [...this.#workers].filter((w) => w.state !== 'dead').map((w) => w.pid);
  }

  // ---- submitting -------------------------------------------------------------
  /** Run fn(...args) in a worker and resolve with its result. */
  apply<A extends unknown[], R>(fn: Fn<A, R>, args?: A, opts: ApplyOptions = {}): Promise<Awaited<R>> {
    return this.applyAsync(fn, args, opts).get();
  }

  applyAsync<A extends unknown[], R>(
    fn: Fn<A, R>, args?: A, opts: ApplyOptions & ResultCallbacks<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.#checkRunning();
    checkCallbacks(opts);
    checkArgs(args);
    const result = new AsyncResult<Awaited<R>>(opts, 1, opts.correlationId);
    try {
      this.#submit(result, result, result.jobId, 0, fn, TaskKind.Apply, (args ?? []) as unknown[], 'args', opts);
    } catch (err) {
      result._reject(err);
    }
    return result;
  }

  /** fn over every item, results in input order. Rejects with the first error once every chunk is done. */
  map<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize?: number | null): Promise<Awaited<R>[]> {
    return this.mapAsync(fn, iterable, { chunksize }).get();
  }

  mapAsync<T, R>(
    fn: Fn<[T], R>, iterable: Input<T>,
    opts: { chunksize?: number | null } & ResultCallbacks<Awaited<R>[]> & Pick<ApplyOptions, 'timeout' | 'softTimeout'> = {},
  ): MapResult<Awaited<R>> {
    return this.#mapAsync(fn, iterable, TaskKind.Map, opts);
  }

  starmap<A extends unknown[], R>(fn: Fn<A, R>, iterable: Input<A>, chunksize?: number | null): Promise<Awaited<R>[]> {
    return this.starmapAsync(fn, iterable, { chunksize }).get();
  }

  starmapAsync<A extends unknown[], R>(
    fn: Fn<A, R>, iterable: Input<A>,
    opts: { chunksize?: number | null } & ResultCallbacks<Awaited<R>[]> & Pick<ApplyOptions, 'timeout' | 'softTimeout'> = {},
  ): MapResult<Awaited<R>> {
    return this.#mapAsync(fn as Fn, iterable, TaskKind.Starmap, opts) as MapResult<Awaited<R>>;
  }

  /** Results in input order, as they become available. */
  imap<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize = 1): IMapIterator<Awaited<R>> {
    return this.#imap(fn, iterable, chunksize, true);
  }

  /** Results in completion order. */
  imapUnordered<T, R>(fn: Fn<[T], R>, iterable: Input<T>, chunksize = 1): IMapIterator<Awaited<R>> {
    return this.#imap(fn, iterable, chunksize, false);
  }

  #mapAsync<T, R>(
    fn: Fn, iterable: Input<T>, kind: TaskKind,
    opts: { chunksize?: number | null } & ResultCallbacks<R[]> & Pick<ApplyOptions, 'timeout' | 'softTimeout'>,
  ): MapResult<R> {
    this.#checkRunning();
    checkIterable(iterable);
    checkCallbacks(opts);
    const chunksize = opts.chunksize;
    checkChunksize(chunksize, false);
    const result = new MapResult<R>(opts);
    const submitAll = (items: T[]) => {
      if (kind === TaskKind.Starmap) {
        const argLists = starmapArgs(items);
        if (argLists instanceof Error) return result._reject(argLists);
        items = argLists as T[];
      }
      const size = chunksize ?? Math.ceil(items.length / (4 * this.#size));
      result._start(items.length, size);
      for (let i = 0, chunk = 0; i < items.length; i += size, chunk++) {
        if (this.#state === State.Terminate) { result._set(chunk, false, new Terminated('pool terminated')); continue; }
        try {
          this.#submit(result, result, result.jobId, chunk, fn, kind, items.slice(i, i + size), `iterable[${i}…]`, opts);
        } catch (err) {
          result._set(chunk, false, err);
        }
      }
    };
    if (isSyncIterable(iterable)) {
      submitAll(Array.from(iterable));
    } else {
      // An error raised by the input reaches the caller as it is.
      this.#openInputs++;
      void collect(iterable)
        .then(submitAll, (err) => result._reject(err))
        .finally(() => { this.#openInputs--; this.#afterProgress(); });
    }
    return result;
  }

  #imap<T, R>(fn: Fn, iterable: Input<T>, chunksize: number, ordered: boolean): IMapIterator<R> {
    this.#checkRunning();
    checkIterable(iterable);
    checkChunksize(chunksize, true);
    const it = new IMapIterator<R>(ordered);
    this.#openInputs++;
    const jobId = newJobId();
    void feedImap({
      iterable, chunksize, it,
      limit: Math.max(64, this.#size * 64),
      submit: (sink, index, chunk, first) =>
        this.#submit(sink, it, jobId, index, fn, TaskKind.Map, chunk, `iterable[${first}]`, {}),
      terminated: () => this.#state === State.Terminate,
      terminatedError: () => new Terminated('pool terminated'),
    }).finally(() => { this.#openInputs--; this.#afterProgress(); });
    return it;
  }

  #checkRunning(): void {
    if (this.#state !== State.Run) throw new ValueError('Pool not running');
  }

  #functionId(fn: Fn): number {
    let id = this.#idOfFunction.get(fn);
    if (id === undefined) {
      const spec = describeTask(fn, this.#modules);
      const key = `${spec.kind}\0${spec.name}\0${spec.kind === 'ref' ? spec.url : spec.source}`;
      id = this.#idOfSpec.get(key);
      if (id === undefined) {
        id = this.#idOfSpec.size + 1;
        this.#definitions.set(id, codec.encode([id, spec]).body);
        this.#idOfSpec.set(key, id);
      }
      this.#idOfFunction.set(fn, id);
    }
    return id;
  }

  #submit(
    sink: JobSink, owner: unknown, jobId: number, index: number, fn: Fn, kind: TaskKind, payload: unknown[],
    root: string, opts: ApplyOptions & ResultCallbacks<any>,
  ): void {
    const fnId = this.#functionId(fn);
    const softMs = checkDuration('softTimeout', opts.softTimeout) || this.#opts.softTimeout;
    const hardMs = checkDuration('timeout', opts.timeout) || this.#opts.timeout;
    const wantAck = softMs > 0 || hardMs > 0 || !!opts.acceptCallback || !!this.#hooks.onTimeoutSet;
    let frame: Buffer;
    try {
      frame = codec.encode([kind, fnId, payload, softMs, wantAck, jobId]).body;
    } catch (err) {
      // Name the path inside what the caller passed, not inside our message.
      let path: string | undefined;
      try {
        path = findUnserializable(payload, root);
      } catch {
        // a getter that throws: explain() says what it can
      }
      const reason = err instanceof SerializationError ? (err.reason ?? err.message) : String(err);
      throw path ? new SerializationError(`${reason} at ${path}`, path, { cause: err }) : explain(err, payload, root);
    }
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const job: Job = {
      sink, owner, jobId, index, fnId, frame, softMs, hardMs,
      needsSlot: opts.waitForSlot ?? this.#hooks.putLocks ?? false,
      holdsSlot: false, accepted: false, seq: -1, sentAt: 0, softFired: false, settled: false, timers: null,
      cancelled: undefined, cleanup: null,
    };
    const signal = opts.signal;
    if (signal) {
      const onAbort = () => this.#cancel(job, abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      job.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    this.#pending.add(job);
    this.#updateKeepAlive();
    this.#queue.push(job);
    this.#dispatch();
  }

  // ---- dispatch -----------------------------------------------------------------
  #dispatch(): void {
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const job = queue[this.#queueHead]!;
      if (job.settled) { this.#queueHead++; continue; }
      if (job.needsSlot && !job.holdsSlot) {
        if (!this.#takeSlot()) break;
        job.holdsSlot = true;
      }
      const worker = this.#pickWorker();
      if (!worker) break;
      this.#queueHead++;
      this.#send(worker, job);
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /**
   * The least-loaded worker that wants work. A worker is refilled once it is
   * down to half its prefetch, so tiny tasks travel in batches (one write for
   * many tasks) while long tasks are handed out one at a time.
   */
  #pickWorker(): WorkerHandle | null {
    // While replacements are on their way, hand out one job at a time: do not
    // commit queued jobs to the workers that happen to be up.
    const limit = this.#liveCount() < this.#size ? 1 : prefetchFor(this.#avgTaskMs);
    const lowWater = Math.max(0, (limit >> 1) - (limit > 1 ? 0 : 1));
    const perChild = this.#opts.maxTasksPerChild;
    // A worker whose oldest job has run much longer than tasks usually take is busy with
    // something long: queue nothing behind it while it is (CPython hands jobs to free workers only).
    const stuckAfter = Math.max(2, 4 * (this.#avgTaskMs ?? 0));
    const now = performance.now();
    let best: WorkerHandle | null = null;
    for (const w of this.#workers) {
      if (w.state !== 'running' || w.inflight.length >= limit) continue;
      if (w.inflight.length > 0 && now - w.inflight[0]!.sentAt > stuckAfter) continue;
      if (perChild !== null && w.tasksSent >= perChild) continue;
      if (!w.filling && w.inflight.length > lowWater) continue;
      if (!best || w.inflight.length < best.inflight.length) best = w;
    }
    if (best) best.filling = best.inflight.length + 1 < limit;
    return best;
  }

  #send(worker: WorkerHandle, job: Job): void {
    if (!worker.knownFunctions.has(job.fnId)) {
      worker.send(PoolTag.Define, this.#definitions.get(job.fnId)!);
      worker.knownFunctions.add(job.fnId);
    }
    worker.inflight.push(job);
    job.sentAt = performance.now();
    job.seq = worker.tasksSent++;
    job.sink._probe?.(job.index, () => (worker.started() > job.seq ? { pid: worker.pid, time: nowMs() } : undefined));
    worker.send(PoolTag.Task, job.frame);
    const perChild = this.#opts.maxTasksPerChild;
    if (perChild !== null && worker.tasksSent >= perChild) this.#retire(worker);
  }

  #takeSlot(): boolean {
    if (this.#semaphore) return this.#semaphore.acquireSync({ block: false });
    if (this.#freeSlots <= 0) return false;
    this.#freeSlots--;
    return true;
  }

  #releaseSlot(job: Job): void {
    if (!job.holdsSlot) return;
    job.holdsSlot = false;
    if (this.#semaphore) this.#semaphore.release();
    else this.#freeSlots++;
  }

  // ---- workers ------------------------------------------------------------------
  #startWorker(): WorkerHandle {
    const progress = RawArray('i', 1) as unknown as Int32Array;
    const proc = new this.#ctx.Process({
      target: workerModule.poolWorker,
      args: [{ ...this.#workerOptions, progress }],
      daemon: true,
      name: `PoolWorker-${++this.#workerCount}`,
      modules: this.#modules,
    });
    proc.start();
    const worker = new WorkerHandle(proc, this.#events, this.#opts.lostWorkerTimeout, progress);
    this.#workers.add(worker);
    safeCall('onProcessUp', this.#hooks.onProcessUp, proc);
    return worker;
  }

  /** Stop giving `worker` work, start its replacement now, and let it exit once idle. */
  #retire(worker: WorkerHandle, reason: WorkerHandle['endReason'] = 'retired'): void {
    if (worker.state !== 'running') return;
    worker.state = 'retiring';
    worker.endReason = reason;
    this.#startMissing();
    if (worker.idle) worker.shutdown();
  }

  /** Replace a worker the pool ends on purpose at once, so the pool stays at full size. */
  #startMissing(): void {
    while (this.#wantsWorkers()) this.#startWorker();
  }

  /**
   * Replace workers that died, after the current turn: the code awaiting the
   * job that just failed runs first (a spawn costs milliseconds). Workers that
   * keep dying before finishing any task are restarted ever more slowly (up to
   * 1 s apart), instead of in a tight loop.
   */
  #replenish(): void {
    if (this.#replenishing) return;
    this.#replenishing = true;
    const delay = this.#futileDeaths >= 3 ? Math.min(1000, 25 * 2 ** (this.#futileDeaths - 3)) : 0;
    const run = () => {
      this.#replenishing = false;
      this.#startMissing();
      this.#dispatch();
    };
    if (delay > 0) setTimeout(run, delay);
    else setImmediate(run);
  }

  #noteDeath(worker: WorkerHandle): void {
    if (worker.endReason !== null) return;
    this.#futileDeaths = worker.tasksAcked > 0 ? 0 : this.#futileDeaths + 1;
  }

  #liveCount(): number {
    let n = 0;
    for (const w of this.#workers) if (w.state === 'running') n++;
    return n;
  }

  #wantsWorkers(): boolean {
    if (this.#state === State.Terminate || this.#broken) return false;
    if (this.#liveCount() >= this.#size) return false;
    return this.#state === State.Run || this.#pending.size > 0 || this.#openInputs > 0;
  }

  readonly #events = {
    onAccept: (worker: WorkerHandle, job: Job, time: number) => {
      job.accepted = true;
      job.sink._accept(job.index, worker.pid, time);
      if (job.settled || (job.softMs <= 0 && job.hardMs <= 0 && !this.#hooks.onTimeoutSet)) return;
      const timers: Deadline[] = [];
      if (job.softMs > 0) timers.push(atDeadline(time + job.softMs, () => this.#softLimit(job)));
      if (job.hardMs > 0) timers.push(atDeadline(time + job.hardMs, () => this.#hardLimit(worker, job)));
      job.timers = timers;
      safeCall('onTimeoutSet', this.#hooks.onTimeoutSet, job.owner, job.softMs || null, job.hardMs || null);
    },
    onResult: (worker: WorkerHandle, job: Job, ok: boolean, payload: Buffer, runMs: number) => {
      this.#avgTaskMs = this.#avgTaskMs === null ? runMs : this.#avgTaskMs * 0.8 + runMs * 0.2;
      // The task ran past its soft limit but answered before our timer fired: the callback is still due.
      if (job.softMs > 0 && runMs >= job.softMs) this.#softLimit(job);
      this.#clearTimers(job);
      if (!job.settled) this.#deliver(job, ok, payload);
      if (worker.state === 'retiring' && worker.idle) worker.shutdown();
      this.#afterProgress();
    },
    onMemory: (worker: WorkerHandle, rss: number) => {
      const limit = this.#opts.maxMemoryPerChild;
      if (limit !== null && rss > limit) this.#retire(worker);
    },
    onExit: (worker: WorkerHandle, exitcode: number) => this.#onWorkerExit(worker, exitcode),
  };

  #deliver(job: Job, ok: boolean, payload: Buffer): void {
    let decoded: { value: unknown; missingModules: string[] };
    try {
      decoded = codec.decode(payload);
    } catch (err) {
      this.#settle(job, false, err);
      return;
    }
    if (decoded.missingModules.length === 0) {
      this.#settle(job, ok, ok ? decoded.value : withRemoteCause(decoded.value));
      return;
    }
    // The value names classes from modules this process has not loaded yet.
    job.settled = true;
    void codec.decodeAsync(payload, { importModule: importForDecode }).then(
      (value) => { job.settled = false; this.#settle(job, ok, ok ? value : withRemoteCause(value)); },
      (err) => { job.settled = false; this.#settle(job, false, err); },
    );
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    if (job.settled) return;
    job.settled = true;
    this.#clearTimers(job);
    job.cleanup?.();
    this.#releaseSlot(job);
    this.#pending.delete(job);
    job.sink._set(job.index, ok, value);
    if (this.#pending.size === 0) this.#updateKeepAlive();
  }

  #clearTimers(job: Job): void {
    if (!job.timers) return;
    for (const t of job.timers) t.cancel();
    job.timers = null;
    safeCall('onTimeoutCancel', this.#hooks.onTimeoutCancel, job.owner);
  }

  #softLimit(job: Job): void {
    if (job.settled || job.softFired) return;
    job.softFired = true;
    job.sink._timedOut(true, job.softMs);
  }

  #hardLimit(worker: WorkerHandle, job: Job): void {
    if (job.settled) return;
    const err = new TimeLimitExceeded(`TimeLimitExceeded(${job.hardMs} ms)`);
    Object.assign(err, { timeout: job.hardMs, jobId: job.jobId, pid: worker.pid });
    job.timers = null;
    this.#settle(job, false, err);
    job.sink._timedOut(false, job.hardMs);
    this.#endWorker(worker, 'time-limit');
  }

  /** Kill a worker on purpose (time limit, terminateJob, cancellation) and replace it at once. */
  #endWorker(worker: WorkerHandle, reason: NonNullable<WorkerHandle['endReason']>, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (worker.state === 'dead') return;
    const wasRunning = worker.state === 'running';
    worker.endReason ??= reason;
    worker.kill(signal);
    if (wasRunning) this.#startMissing();
  }

  #cancel(job: Job, reason: unknown): void {
    if (job.settled) return;
    const worker = [...this.#workers].find((w) => w.inflight[0] === job && job.accepted);
    this.#settle(job, false, reason);
    if (worker) this.#endWorker(worker, 'cancelled');
    this.#afterProgress();
  }

  #onWorkerExit(worker: WorkerHandle, exitcode: number): void {
    this.#workers.delete(worker);
    const jobs = worker.inflight.splice(0);
    const requeue: Job[] = [];
    // The worker counted in shared memory the tasks it started: those ran (their results died
    // with it), the others never started and go to another worker.
    const started = worker.started();
    for (const job of jobs) {
      if (job.settled) continue;
      if (job.seq < started || job.accepted) {
        this.#settle(job, false, this.#lossError(worker, job, exitcode));
        continue;
      }
      job.seq = -1;
      job.sink._probe?.(job.index, undefined);
      requeue.push(job);
    }
    if (requeue.length > 0) {
      for (const job of requeue) this.#releaseSlot(job);
      this.#queue = [...requeue, ...this.#queue.slice(this.#queueHead)];
      this.#queueHead = 0;
    }
    safeCall('onProcessDown', this.#hooks.onProcessDown, worker.proc);
    safeCall('onProcessExit', this.#hooks.onProcessExit, worker.pid, exitcode);
    const unplanned = worker.endReason === null;
    if (unplanned && this.#state !== State.Terminate && this.#restarts.step()) {
      this.#breakPool(new RestartFreqExceeded(
        `more than ${this.#opts.maxRestarts} worker restarts within ${this.#opts.maxRestartFreq} ms`));
    }
    this.#noteDeath(worker);
    this.#replenish();
    this.#afterProgress();
  }

  #lossError(worker: WorkerHandle, job: Job, exitcode: number): Error {
    const fields = { pid: worker.pid, exitcode, jobId: job.jobId };
    switch (worker.endReason) {
      case 'terminated-job':
      case 'pool-terminate':
        return Object.assign(new Terminated(`Terminated(${-exitcode})`), fields);
      default:
        return Object.assign(new WorkerLostError(
          `Worker exited prematurely: ${humanStatus(exitcode)} Job: ${job.jobId}.`),
          fields, exitcode === -9 ? { hint: 'SIGKILL: killed by someone, or by the kernel when out of memory' } : {});
    }
  }

  #afterProgress(): void {
    this.#dispatch();
    if (this.#state !== State.Run && this.#pending.size === 0 && this.#openInputs === 0) {
      for (const w of this.#workers) {
        if (w.state === 'running') {
          w.state = 'retiring';
          w.endReason ??= 'retired';
        }
        if (w.state === 'retiring' && w.idle) w.shutdown();
      }
    }
    if (this.#state !== State.Run && this.#workers.size === 0 && this.#inputsDone()) {
      for (const wake of this.#joinWaiters.splice(0)) wake();
      this.#updateKeepAlive();
    }
  }

  #breakPool(err: Error): void {
    this.#broken = err;
    this.#state = State.Close;
    for (const job of [...this.#pending]) this.#settle(job, false, err);
    this.#queue = [];
    this.#queueHead = 0;
  }

  /** Keep the event loop alive while jobs are pending or someone awaits join(). */
  #updateKeepAlive(): void {
    const keep = this.#pending.size > 0 || this.#joinWaiters.length > 0;
    if (keep && !this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
    else if (!keep && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }

  // ---- lifecycle -------------------------------------------------------------------
  /** No more submissions; workers exit once every submitted job is done. */
  close(): void {
    if (this.#state === State.Run) this.#state = State.Close;
    this.#afterProgress();
  }

  /** Settle every pending job with Terminated, kill every worker, and resolve once they are gone. */
  terminate(): Promise<void> {
    if (this.#state !== State.Terminate) {
      this.#state = State.Terminate;
      const err = new Terminated('pool terminated');
      for (const job of [...this.#pending]) this.#settle(job, false, err);
      this.#queue = [];
      this.#queueHead = 0;
      for (const w of this.#workers) {
        w.endReason ??= 'pool-terminate';
        w.kill('SIGTERM', 200);
      }
    }
    return this.#waitForWorkers();
  }

  /** Wait for the workers to exit after close() or terminate(). */
  join(): Promise<void> {
    if (this.#state === State.Run) throw new ValueError('Pool is still running');
    return this.#waitForWorkers();
  }

  /** After close(), open inputs are work still to come; terminate() waits for nothing. */
  #inputsDone(): boolean {
    return this.#openInputs === 0 || this.#state === State.Terminate;
  }

  #waitForWorkers(): Promise<void> {
    if (this.#workers.size === 0 && this.#inputsDone()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#joinWaiters.push(resolve);
      this.#updateKeepAlive();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  // ---- billiard's extras -----------------------------------------------------------
  /** Add `n` workers. */
  grow(n = 1): void {
    this.#checkRunning();
    this.#size += n;
    this.#freeSlots += n;
    for (let i = 0; i < n; i++) this.#startWorker();
    this.#dispatch();
  }

  /** Remove `n` idle workers; throws when fewer are idle (after removing those). */
  shrink(n = 1): void {
    this.#checkRunning();
    let done = 0;
    for (const w of this.#workers) {
      if (done >= n) break;
      if (w.state !== 'running' || !w.idle) continue;
      w.state = 'retiring';
      w.endReason = 'retired';
      w.shutdown();
      done++;
    }
    this.#size -= done;
    this.#freeSlots -= done;
    if (done < n) throw new ValueError("Can't shrink pool. All processes busy!");
  }

  /** Replace every worker: each finishes the jobs it holds, then exits. */
  restart(): void {
    this.#checkRunning();
    for (const w of [...this.#workers]) this.#retire(w);
  }

  /** Kill the worker `pid`; the job it runs rejects with Terminated. */
  terminateJob(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
    const worker = [...this.#workers].find((w) => w.pid === pid);
    if (!worker) return;
    this.#endWorker(worker, 'terminated-job', signal);
  }

  toString(): string {
    const state = ['RUN', 'CLOSE', 'TERMINATE'][this.#state];
    return `<Pool state=${state} pool_size=${this.#size}>`;
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Terminated('job aborted');
}

/** A worker's error keeps its class; its remote stack becomes the cause (CPython's RemoteTraceback). */
function withRemoteCause(error: unknown): unknown {
  if (!(error instanceof Error) || error.cause instanceof RemoteTraceback) return error;
  const remote = new RemoteTraceback(error.stack ?? String(error), error.cause !== undefined ? { cause: error.cause } : undefined);
  Object.defineProperty(error, 'cause', { value: remote, configurable: true, writable: true, enumerable: false });
  return error;
}

registerReducer(Pool, 'Pool', {
  reduce() {
    throw new SerializationError('pool objects cannot be passed between processes or pickled');
  },
  rebuild() {
    throw new SerializationError('pool objects cannot be passed between processes or pickled');
  },
});

declare module '../context.js' {
  interface BaseContext {
    /** A Pool whose workers use this context's start method. */
    Pool: typeof Pool;
  }
}

defineContextMember('Pool', (ctx) => class extends Pool {
  constructor(opts: number | PoolOptions = {}) {
    super({ context: ctx, ...(typeof opts === 'number' ? { processes: opts } : opts) });
  }
});
