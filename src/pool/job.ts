/**
 * One dispatched unit of pool work: an apply, or one chunk of a map/imap.
 * Its task frame is encoded once, at submit time, so a bad argument fails
 * that very job and a requeued job is sent again without re-encoding.
 */
import type { Deadline } from './deadline.js';

export interface JobSink {
  _accept(index: number, pid: number, time: number): void;
  /** Optional: lets the sink ask whether the unit has started (see WorkerHandle.started). */
  _probe?(index: number, probe: (() => { pid: number; time: number } | undefined) | undefined): void;
  _set(index: number, ok: boolean, value: unknown): void;
  _timedOut(soft: boolean, timeout: number): void;
}

export interface Job {
  readonly sink: JobSink;
  /** Reported to hooks: the AsyncResult the job belongs to. */
  readonly owner: unknown;
  readonly jobId: number;
  readonly index: number;
  readonly fnId: number;
  readonly frame: Buffer;
  readonly softMs: number;
  readonly hardMs: number;
  /** Needs a put-lock slot before dispatch (putLocks / waitForSlot). */
  readonly needsSlot: boolean;
  holdsSlot: boolean;
  accepted: boolean;
  /** The worker's task number for this job (0 = its first task). */
  seq: number;
  /** When it was sent to its worker (performance.now()). */
  sentAt: number;
  /** The soft limit's callback ran. */
  softFired: boolean;
  settled: boolean;
  timers: Deadline[] | null;
  /** Set when the job was cancelled through its AbortSignal. */
  cancelled: unknown;
  cleanup: (() => void) | null;
}
