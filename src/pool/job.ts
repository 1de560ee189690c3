/**
 * One dispatched unit of pool work: an apply, or one chunk of a map/imap.
 * Its task frame is encoded once, at submit time, so a bad argument fails
 * that very job and a requeued job is sent again without re-encoding.
 */
export interface JobSink {
  _accept(index: number, pid: number, time: number): void;
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
  settled: boolean;
  timers: NodeJS.Timeout[] | null;
  /** Set when the job was cancelled through its AbortSignal. */
  cancelled: unknown;
  cleanup: (() => void) | null;
}
