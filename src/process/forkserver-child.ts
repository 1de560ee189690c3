/**
 * The first moments of a forkserver child, in the forked process: what a
 * fresh process would have had of its own (event loop, pid, uptime, random
 * state, per-module caches), and a way out that skips Node.js's teardown.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { closeFds, setParentDeathSignal } from '../native/fd.js';
import { exitImmediately, reopenEventLoop } from '../native/fork.js';
import { libc } from '../native/libc.js';
import { flushAllSync } from '../wire/writer.js';
import { runAfterForkHooks } from './after-fork.js';

/** When this child was handed out: its process.uptime() counts from here, not from the server's start. */
let born = 0n;

/** The server has handed this spare its descriptors: it is born now. */
export function markHandedOut(): void {
  born = process.hrtime.bigint();
}

/** Run first in a forked child; `serverFds` are the server's descriptors it inherited. */
export function becomeChild(serverPid: number, serverFds: number[]): void {
  reopenEventLoop();
  closeFds(serverFds);
  setParentDeathSignal('SIGKILL', serverPid);
  // Node.js read its pid once, at startup: the server's.
  Object.defineProperty(process, 'pid', { value: libc().getpid(), writable: false, enumerable: true, configurable: true });
  Object.defineProperty(process, 'ppid', { value: serverPid, writable: true, enumerable: true, configurable: true });
  process.uptime = () => Number(process.hrtime.bigint() - born) / 1e9;
  reseedMathRandom();
  drainUuidCache();
  exitWithoutTeardown();
  runAfterForkHooks();
}

/**
 * Math.random's state was copied from the server: every child would draw the
 * same numbers (CPython reseeds `random` after a fork for the same reason).
 * V8 cannot be reseeded, so the child's Math.random draws from the system's
 * generator (OpenSSL's, which notices the fork), a batch at a time.
 */
function reseedMathRandom(): void {
  const words = new Uint32Array(2048);
  let next = words.length;
  Math.random = () => {
    if (next === words.length) {
      crypto.getRandomValues(words);
      next = 0;
    }
    // 53 random bits, as V8's own Math.random gives.
    const high = words[next++]! >>> 5;
    const low = words[next++]! >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  };
}

/** Node.js hands out randomUUID() from a batch of 128 drawn ahead; a batch drawn in the server would repeat in every child. */
function drainUuidCache(): void {
  for (let i = 0; i < 128; i++) randomUUID();
}

/**
 * Node.js's own exit joins threads a forked child does not have: every way
 * out ends in _exit once the 'exit' listeners have run (process.exit, the
 * loop running dry, an uncaught exception, which is reported first as Node
 * would).
 */
function exitWithoutTeardown(): void {
  let fatal: { error: unknown } | null = null;
  process.on('uncaughtExceptionMonitor', (error) => {
    fatal = { error };
    // Handled after all (an 'uncaughtException' listener): the process goes on.
    setImmediate(() => { fatal = null; }).unref();
  });
  const emit = process.emit;
  const finish = (code: number): never => {
    if (fatal) {
      const { error } = fatal;
      process.stderr.write(`${error instanceof Error ? inspect(error) : `Uncaught ${inspect(error)}`}\n\nNode.js ${process.version}\n`);
    }
    // Frames queued by the 'exit' listeners go out now: no later tick will send them.
    flushAllSync();
    return exitImmediately(code);
  };
  Object.defineProperty(process, 'emit', {
    configurable: true,
    writable: true,
    value: function emitThenExit(this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
      const handled = (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
      if (event === 'exit') finish(typeof process.exitCode === 'number' ? process.exitCode : Number(args[0] ?? 0) | 0);
      return handled;
    },
  });
  (process as unknown as { reallyExit: (code?: number) => never }).reallyExit = (code?: number) => finish(Number(code ?? 0) | 0);
}
