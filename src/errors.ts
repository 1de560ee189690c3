/**
 * Every error the package throws. Each class has a stable `code`; misuse errors
 * mirror Python's exception names so that code ported from multiprocessing
 * catches the same things.
 */

/** Base of every billiard error; `code` is stable across releases. */
export class BilliardError extends Error {
  readonly code: string;
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = codeOf(new.target);
  }
  override get name(): string {
    return this.constructor.name;
  }
}

function codeOf(cls: Function): string {
  return 'ERR_BILLIARD_' + cls.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Python's ProcessError: base of the multiprocessing-specific errors. */
export class ProcessError extends BilliardError {}
/** A received message did not fit the given buffer; `message` holds the whole message in `buffer`. */
export class BufferTooShort extends ProcessError {
  constructor(readonly buffer: Buffer) {
    super(`message of ${buffer.length} bytes does not fit the buffer`);
  }
}
/** A blocking call ran out of time (Python's multiprocessing.TimeoutError). */
export class TimeoutError extends ProcessError {}
/** The authkey handshake failed. */
export class AuthenticationError extends ProcessError {}

// Misuse errors keep Python's names. They sit under ProcessError so that
// `catch (e) { if (e instanceof ProcessError) … }` sees every misuse of a
// Process, whichever Python class CPython raises for it.
/** Python's ValueError: an argument or state is invalid. */
export class ValueError extends ProcessError {}
/** Python's AssertionError: the API was used out of order. */
export class AssertionError extends ProcessError {}
/** Python's RuntimeError. */
export class RuntimeError extends ProcessError {}
/** Python's TypeError for arguments of the wrong type. */
export class TypeError extends ProcessError {}
/** Python's OSError: an operation on a handle or the OS failed. */
export class OSError extends BilliardError {
  constructor(message?: string, options?: { cause?: unknown; errno?: string }) {
    super(message, options);
    if (options?.errno) this.errno = options.errno;
  }
  errno?: string;
}
/** Python's EOFError: the peer closed the connection. */
export class EOFError extends BilliardError {}

/** A value could not be serialized; the message names the path inside the value. */
export class SerializationError extends BilliardError {
  /** What went wrong, without the path. */
  readonly reason: string;
  constructor(message: string, readonly path?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = path && message.endsWith(` at ${path}`) ? message.slice(0, -` at ${path}`.length) : message;
  }
}
/** A task (function) could not be sent to another process. */
export class TaskSerializationError extends SerializationError {}

/** Raised in a task's signal when its soft time limit passes. */
export class SoftTimeLimitExceeded extends BilliardError {}
/** A job ran past its hard time limit; its worker was killed. */
export class TimeLimitExceeded extends BilliardError {}
/** The worker running a job died before the job finished. */
export class WorkerLostError extends BilliardError {}
/** The job was terminated (pool terminate() or terminateJob()). */
export class Terminated extends BilliardError {}
/** Workers died more often than maxRestarts within maxRestartFreq. */
export class RestartFreqExceeded extends BilliardError {}
/** Stop signal of a coroutine-driven loop (billiard's CoroStop). */
export class CoroStop extends BilliardError {}
/** A worker's result could not be serialized. */
export class MaybeEncodingError extends BilliardError {
  constructor(readonly exc: string, readonly value: string) {
    super(`Error sending result: '${value}'. Reason: '${exc}'`);
  }
}
/** An error raised by a manager's referent, or a call it refused. */
export class RemoteError extends BilliardError {}
/** Queue.get found nothing before its timeout, or without blocking. */
export class Empty extends BilliardError {}
/** Queue.put found no room before its timeout, or without blocking. */
export class Full extends BilliardError {}
/** A Barrier was aborted, reset while waited on, or timed out. */
export class BrokenBarrierError extends RuntimeError {}

/**
 * The stack of an error raised in another process, attached as the `cause`
 * of the error when it is re-raised here (CPython's RemoteTraceback).
 */
export class RemoteTraceback extends BilliardError {
  constructor(readonly tb: string, options?: { cause?: unknown }) {
    super(tb, options);
  }
}
