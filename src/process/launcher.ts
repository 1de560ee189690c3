/**
 * The interface between a Process and the mechanism that starts it: one
 * launcher per start method (spawn, forkserver, thread).
 */
import type { FrameChannel } from '../wire/channel.js';

/** A started child as its Process sees it (CPython's Popen object). */
export interface Popen {
  readonly pid: number;
  /** The child's thread id for thread children; the pid otherwise. */
  readonly ident: number;
  /** null while running; exit code, or −signal when killed by a signal. */
  readonly exitcode: number | null;
  /** Settles when the child has exited. */
  readonly exited: Promise<number>;
  /** Control channel to the child. */
  readonly channel: FrameChannel;
  terminate(): void;
  kill(): void;
  /**
   * Send `sig` the way the start method can: a process gets the signal; a
   * thread child is stopped and reports −signum. Callers that would use
   * process.kill(popen.pid, sig) must use this instead (a thread child's pid
   * is the parent's own).
   */
  sendSignal(sig: NodeJS.Signals): void;
  /** Let the parent exit without waiting for this child (daemonic children). */
  setDaemon(daemon: boolean): void;
  /** Release what the parent holds for this child once it has exited. */
  close(): void;
}

export interface LaunchRequest {
  /** The boot message, already encoded. */
  boot: Uint8Array;
  /** File descriptors the boot message refers to, in order. */
  fds: number[];
  daemon: boolean;
  name: string;
}

export interface Launcher {
  readonly method: string;
  start(request: LaunchRequest): Popen;
}
