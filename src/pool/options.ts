/**
 * Pool options: their types, defaults and CPython's validation messages.
 */
import { TypeError, ValueError } from '../errors.js';
import type { Context } from '../context.js';
import type { Process } from '../process/process.js';
import type { AsyncResult } from './results.js';

/** A counting semaphore the pool can take slots from without waiting (putLocks). */
export interface SlotSemaphore {
  acquireSync(opts?: { block?: boolean }): boolean;
  release(): void;
}

export interface PoolOptions {
  processes?: number | null;
  initializer?: ((...args: any[]) => unknown) | null;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
  /** Default hard time limit per job, ms from acceptance. */
  timeout?: number | null;
  /** Default soft time limit per job, ms from acceptance. */
  softTimeout?: number | null;
  /** How long to wait for a dead worker's last messages, ms (normally they arrive at once). */
  lostWorkerTimeout?: number | null;
  maxRestarts?: number | null;
  /** Window for maxRestarts, ms. */
  maxRestartFreq?: number | null;
  /** Accepted for billiard compatibility: restart() is always available. */
  allowRestart?: boolean;
  onProcessUp?: ((p: Process<any>) => void) | null;
  onProcessDown?: ((p: Process<any>) => void) | null;
  onProcessExit?: ((pid: number, exitcode: number) => void) | null;
  onTimeoutSet?: ((r: AsyncResult<any>, soft: number | null, hard: number | null) => void) | null;
  onTimeoutCancel?: ((r: AsyncResult<any>) => void) | null;
  /** Retire a worker whose resident memory after a task exceeds this many bytes. */
  maxMemoryPerChild?: number | null;
  /** Default for waitForSlot: hold jobs back while every worker is busy. */
  putLocks?: boolean;
  semaphore?: SlotSemaphore | null;
  /** Accepted for billiard compatibility (its base Pool ignores it too). */
  synack?: boolean;
  context?: Context | null;
  modules?: string[];
}

export interface ApplyOptions {
  timeout?: number | null;
  softTimeout?: number | null;
  lostWorkerTimeout?: number | null;
  waitForSlot?: boolean;
  signal?: AbortSignal;
  correlationId?: string;
}

export interface Resolved {
  processes: number;
  maxTasksPerChild: number | null;
  timeout: number;
  softTimeout: number;
  lostWorkerTimeout: number;
  maxRestarts: number;
  maxRestartFreq: number;
  maxMemoryPerChild: number | null;
}

const positiveOrNull = (v: number | null | undefined): v is number => v !== undefined && v !== null;

export function checkDuration(name: string, value: number | null | undefined): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ValueError(`${name} must be a non-negative number of milliseconds, not ${String(value)}`);
  }
  return value;
}

export function resolveOptions(opts: PoolOptions, cpuCount: number): Resolved {
  const processes = opts.processes ?? cpuCount;
  if (typeof processes !== 'number' || !Number.isInteger(processes) || processes < 1) {
    throw new ValueError('Number of processes must be at least 1');
  }
  const mtpc = opts.maxTasksPerChild;
  if (positiveOrNull(mtpc) && (typeof mtpc !== 'number' || !Number.isInteger(mtpc) || mtpc <= 0)) {
    throw new ValueError('maxtasksperchild must be a positive int or None');
  }
  if (opts.initializer !== undefined && opts.initializer !== null && typeof opts.initializer !== 'function') {
    throw new TypeError('initializer must be a callable');
  }
  const maxMemory = opts.maxMemoryPerChild;
  if (positiveOrNull(maxMemory) && (typeof maxMemory !== 'number' || !(maxMemory > 0))) {
    throw new ValueError('maxMemoryPerChild must be a positive number of bytes');
  }
  const maxRestarts = opts.maxRestarts ?? Infinity;
  if (typeof maxRestarts !== 'number' || Number.isNaN(maxRestarts) || maxRestarts < 0) {
    throw new ValueError('maxRestarts must be a non-negative number');
  }
  return {
    processes,
    maxTasksPerChild: mtpc ?? null,
    timeout: checkDuration('timeout', opts.timeout),
    softTimeout: checkDuration('softTimeout', opts.softTimeout),
    lostWorkerTimeout: checkDuration('lostWorkerTimeout', opts.lostWorkerTimeout) || 10_000,
    maxRestarts,
    maxRestartFreq: checkDuration('maxRestartFreq', opts.maxRestartFreq) || 1000,
    maxMemoryPerChild: maxMemory ?? null,
  };
}
