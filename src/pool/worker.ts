/**
 * The worker loop, run as the target of each pool worker process. It reads
 * tasks from its control channel, runs them one at a time in order, and
 * answers each with Ok or Error (preceded by Ack when the parent needs the
 * accept time early: time limits, accept callbacks).
 */
import { MaybeEncodingError, SoftTimeLimitExceeded } from '../errors.js';
import { controlChannel } from '../process/control.js';
import { codec } from '../wire/codec.js';
import type { FrameChannel } from '../wire/channel.js';
import { explainTaskError, resolveTask, type TaskSpec } from '../task.js';
import { PoolTag, TaskKind, encodeTime, nowMs, type WorkerOptions } from './protocol.js';
import { setCurrentTask, type TaskContext } from './task-context.js';
import { atDeadline } from './deadline.js';


type TaskMessage = [kind: TaskKind, fnId: number, payload: unknown[], softMs: number, wantAck: boolean, jobId: number];

export async function poolWorker(options: WorkerOptions): Promise<void> {
  const channel = controlChannel();
  if (!channel) throw new Error('poolWorker runs only inside a pool worker process');
  channel.setKeepAlive(true);
  if (options.initializer) {
    const init = await resolveTask(options.initializer);
    await init(...options.initargs);
  }
  const functions = new Map<number, Function>();
  let first = true;
  for (;;) {
    const frame = channel.tryFrame() ?? (await channel.nextFrame());
    if (!frame || frame.tag === PoolTag.Shutdown) break;
    if (frame.tag === PoolTag.Define) {
      const [fnId, spec] = codec.decode(frame.payload).value as [number, TaskSpec];
      functions.set(fnId, await resolveTask(spec));
      continue;
    }
    if (frame.tag !== PoolTag.Task) continue;
    const message = codec.decode(frame.payload).value as TaskMessage;
    // The first Ack always goes out at once: then a worker that dies without one never started a task.
    if (first) message[4] = true;
    first = false;
    Atomics.add(options.progress, 0, 1);
    const started = performance.now();
    const outcome = runTask(channel, functions, message);
    const settled = outcome instanceof Promise ? await outcome : outcome;
    reply(channel, settled, performance.now() - started);
    if (options.reportMemory) channel.send(PoolTag.Memory, encodeTime(process.memoryUsage.rss()));
    // Each result goes out before the next task starts (as billiard's workers do): a task that
    // kills its worker must not take the results of the tasks before it along.
    channel.flush();
  }
  channel.setKeepAlive(false);
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Run one task; synchronous tasks settle without a promise (the fast path for tiny tasks). */
function runTask(channel: FrameChannel, functions: Map<number, Function>, message: TaskMessage): Outcome | Promise<Outcome> {
  const [kind, fnId, payload, softMs, wantAck, jobId] = message;
  const accepted = nowMs();
  // The parent arms time limits on Ack: it must have it before a long synchronous task runs.
  // Without limits a result implies acceptance, so tiny tasks need no Ack at all.
  if (wantAck) {
    channel.send(PoolTag.Ack, encodeTime(accepted));
    channel.flushSync();
  }
  const fn = functions.get(fnId);
  if (!fn) return { ok: false, error: new Error(`pool worker: unknown function id ${fnId}`) };
  const task = startTaskContext(jobId, accepted, softMs);
  setCurrentTask(task.context);
  let result: unknown;
  try {
    result = invoke(kind, fn, payload);
  } catch (error) {
    task.finish();
    return { ok: false, error: explainTaskError(fn, error) };
  }
  if (!isPromiseLike(result)) {
    task.finish();
    return { ok: true, value: result };
  }
  if (!wantAck) channel.send(PoolTag.Ack, encodeTime(accepted));
  return Promise.resolve(result).then(
    (value) => { task.finish(); return { ok: true as const, value }; },
    (error: unknown) => { task.finish(); return { ok: false as const, error: explainTaskError(fn, error) }; },
  );
}

function invoke(kind: TaskKind, fn: Function, payload: unknown[]): unknown {
  if (kind === TaskKind.Apply) return fn(...payload);
  const call = kind === TaskKind.Map ? (item: unknown) => fn(item) : (args: unknown) => fn(...(args as unknown[]));
  const results = new Array(payload.length);
  for (let i = 0; i < payload.length; i++) {
    const r = call(payload[i]);
    // A chunk of async calls runs one after another, as CPython's list(map(f, chunk)) would.
    if (isPromiseLike(r)) return finishAsync(results, i, r, payload, call);
    results[i] = r;
  }
  return results;
}

async function finishAsync(
  results: unknown[], i: number, pending: PromiseLike<unknown>, payload: unknown[], call: (x: unknown) => unknown,
): Promise<unknown[]> {
  results[i] = await pending;
  for (let k = i + 1; k < payload.length; k++) results[k] = await call(payload[k]);
  return results;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function';
}

function startTaskContext(jobId: number, accepted: number, softMs: number) {
  // An AbortController per task is costly for tiny tasks: make one only when needed.
  let controller: AbortController | null = null;
  const deadline = softMs > 0 ? accepted + softMs : Infinity;
  const abort = () => (controller ??= new AbortController()).abort(
    new SoftTimeLimitExceeded(`soft time limit (${softMs} ms) exceeded`));
  const timer = softMs > 0 ? atDeadline(deadline, abort) : null;
  const context: TaskContext = {
    jobId,
    get signal() {
      return (controller ??= new AbortController()).signal;
    },
    softTimeLimitExceeded: () => controller?.signal.aborted === true || nowMs() >= deadline,
  };
  return {
    context,
    finish() {
      timer?.cancel();
      setCurrentTask(null);
    },
  };
}

function reply(channel: FrameChannel, outcome: Outcome, runMs: number): void {
  const took = encodeTime(runMs);
  if (outcome.ok) {
    let body: Buffer;
    try {
      body = codec.encode(outcome.value, { root: 'result' }).body;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      channel.sendParts(PoolTag.Error, [took, codec.encode(new MaybeEncodingError(reason, describe(outcome.value))).body]);
      return;
    }
    channel.sendParts(PoolTag.Ok, [took, body]);
    return;
  }
  channel.sendParts(PoolTag.Error, [took, encodeError(outcome.error)]);
}

function encodeError(error: unknown): Buffer {
  try {
    return codec.encode(error, { root: 'error' }).body;
  } catch (err) {
    // The error itself does not serialize (a function among its properties): keep what can travel.
    const e = error instanceof Error ? error : new Error(String(error));
    const plain = new Error(e.message);
    plain.stack = e.stack;
    Object.defineProperty(plain, 'name', { value: e.name });
    return codec.encode(plain).body;
  }
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

