/**
 * currentTask(): what a running pool task can learn about itself — its job
 * id, an AbortSignal that aborts at the soft time limit, and a check that is
 * exact even while synchronous code keeps the event loop busy.
 */
import { RuntimeError } from '../errors.js';

export interface TaskContext {
  readonly jobId: number;
  /** Aborts with SoftTimeLimitExceeded when the soft time limit passes. */
  readonly signal: AbortSignal;
  /** True once the soft time limit has passed (computed on call, so it works inside CPU-bound loops). */
  softTimeLimitExceeded(): boolean;
}

let current: TaskContext | null = null;

/** The pool task running in this worker. Throws outside a pool task. */
export function currentTask(): TaskContext {
  if (!current) throw new RuntimeError('currentTask() is only available inside a pool task');
  return current;
}

export function setCurrentTask(task: TaskContext | null): void {
  current = task;
}
