/**
 * Who is calling a referent in the manager server: one Caller per client
 * connection (one per client process), plus one for the server itself.
 * Referents that block (locks, queues) remember their caller, so that a
 * client that dies does not keep a lock held or swallow a queue item.
 */
import { ValueError } from '../errors.js';

export class Caller {
  closed = false;
  readonly #onClose = new Set<() => void>();
  /** Referent ids and how many references this caller holds on each. */
  readonly held = new Map<number, number>();

  constructor(readonly id: number) {}

  /** Run `fn` when the caller goes away; returns an unregister function. */
  onClose(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => undefined;
    }
    this.#onClose.add(fn);
    return () => this.#onClose.delete(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of [...this.#onClose]) {
      try { fn(); } catch { /* a cleanup must not stop the others */ }
    }
    this.#onClose.clear();
  }
}

/** The caller of the referent method running now (set by the server around each synchronous dispatch). */
let current: Caller | null = null;
const serverCaller = new Caller(0);

export function currentCaller(): Caller {
  return current ?? serverCaller;
}

export function withCaller<T>(caller: Caller, fn: () => T): T {
  const previous = current;
  current = caller;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** Waiters woken one at a time or all together; a waiter whose caller left is skipped. */
export class WaitList {
  readonly #waiters: Array<{ caller: Caller; wake: (woken: boolean) => void }> = [];

  get length(): number {
    return this.#waiters.length;
  }

  /** Resolves true when woken, false after `timeoutMs` (null: no limit) or when the caller leaves. */
  wait(caller: Caller, timeoutMs: number | null): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let unregister = () => {};
      const entry = {
        caller,
        wake: (woken: boolean) => {
          clearTimeout(timer);
          unregister();
          const i = this.#waiters.indexOf(entry);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(woken);
        },
      };
      this.#waiters.push(entry);
      unregister = caller.onClose(() => entry.wake(false));
      if (timeoutMs !== null) timer = setTimeout(() => entry.wake(false), Math.max(0, timeoutMs));
    });
  }

  wakeOne(): boolean {
    for (const w of this.#waiters) {
      if (!w.caller.closed) {
        w.wake(true);
        return true;
      }
    }
    return false;
  }

  wakeAll(): void {
    for (const w of [...this.#waiters]) w.wake(true);
  }
}

/** Milliseconds left until `deadline` (null: no limit). */
export function remaining(deadline: number | null): number | null {
  return deadline === null ? null : Math.max(0, deadline - Date.now());
}

/** A timeout argument (ms; null/undefined: none); NaN or a non-number is a ValueError, as CPython. */
export function checkTimeout(timeout: unknown): number | null {
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new ValueError(`timeout must be a number, not ${String(timeout)}`);
  return timeout;
}

export function deadlineOf(timeout: number | null | undefined): number | null {
  const t = checkTimeout(timeout);
  return t === null ? null : Date.now() + Math.max(0, t);
}
