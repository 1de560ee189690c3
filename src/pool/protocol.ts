/**
 * The pool's protocol over each worker's private control channel. A worker
 * runs its tasks strictly in the order it received them, so a result needs
 * no job id: it belongs to the oldest unfinished task sent to that worker.
 */
import { ControlTag } from '../process/control.js';

export const enum PoolTag {
  /** parent → worker: [fnId, TaskSpec] defines a function before its first task. */
  Define = ControlTag.User,
  /** parent → worker: [kind, fnId, payload, softMs, wantAck] (see TaskKind). */
  Task,
  /** parent → worker: finish the buffered tasks, then exit. */
  Shutdown,
  /** worker → parent: 8 bytes, f64 accept time (ms since epoch): the oldest unstarted task began. */
  Ack,
  /** worker → parent: f64 run time (ms), then the encoded value of the oldest unfinished task. */
  Ok,
  /** worker → parent: f64 run time (ms), then the encoded error of the oldest unfinished task. */
  Error,
  /** worker → parent: 8 bytes, f64 resident memory after the last task (when maxMemoryPerChild is set). */
  Memory,
}

export const enum TaskKind {
  /** payload = args: fn(...args) */
  Apply = 0,
  /** payload = items: items.map((x) => fn(x)) */
  Map = 1,
  /** payload = arg lists: lists.map((a) => fn(...a)) */
  Starmap = 2,
}

/** What the parent tells a worker at start. */
export interface WorkerOptions {
  initializer: import('../task.js').TaskSpec | null;
  initargs: unknown[];
  reportMemory: boolean;
  /**
   * Shared memory: [0] counts the tasks the worker has started. The parent
   * reads it, even after the worker died, to know which tasks ran (their
   * results may have died with it) and which never started (safe to resend).
   */
  progress: Int32Array;
}

export function encodeTime(ms: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeDoubleLE(ms, 0);
  return buf;
}

export function decodeTime(buf: Buffer): number {
  return buf.readDoubleLE(0);
}

/** Wall-clock ms with sub-ms precision, comparable between processes of one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
