/**
 * The thread start method: each child is a `worker_threads` Worker of this
 * process, running the same child bootstrap as a spawned process (`runChild`)
 * over the same kind of control channel: one end of a socketpair. Pool
 * workers, Connections and every protocol therefore work unchanged; the sync
 * primitives live in mapped shared memory with shared futexes, which work
 * between threads exactly as between processes.
 *
 * Descriptors the boot message refers to (Connections passed as arguments)
 * are duplicated for the thread, so closing the parent's copy leaves the
 * thread's working, as a spawned child's inherited copy would.
 *
 * Exit codes follow spawn: return → 0, `process.exit(n)` → n, an uncaught
 * error → 1, `terminate()` → −15, `kill()` → −9 (both stop the thread with
 * `worker.terminate()`).
 */
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { dupFd, socketpair } from '../native/fd.js';
import { FrameChannel } from '../wire/channel.js';
import { ValueError } from '../errors.js';
import type { Launcher, LaunchRequest, Popen } from './launcher.js';
import { registerLauncher } from './start-method.js';
import { childExecArgv, deferredLoaders } from './loader.js';
import { ControlTag } from './control.js';
import { threadLoaders, type ThreadBoot } from './thread-boot.js';

const ENTRY_PATH = fileURLToPath(new URL('./thread-entry.js', import.meta.url));

/** How long the parent keeps reading a dead thread's channel (a grandchild may hold it open). */
const DRAIN_AFTER_EXIT_MS = 10_000;

class ThreadPopen implements Popen {
  readonly pid = process.pid;
  readonly ident: number;
  readonly exited: Promise<number>;
  exitcode: number | null = null;
  /** The signal number terminate()/kill() reports once the thread has stopped. */
  #signal: number | null = null;

  constructor(readonly channel: FrameChannel, private readonly worker: Worker, daemon: boolean, name: string) {
    this.ident = worker.threadId;
    this.exited = new Promise<number>((resolve) => {
      // An error the thread did not catch (outside its target's promise): as a process would, print it.
      worker.on('error', (err) => {
        process.stderr.write(`Process ${name}:\n${err instanceof Error ? inspect(err) : String(err)}\n`);
      });
      worker.once('exit', (code) => {
        this.exitcode = this.#signal !== null ? -this.#signal : code;
        // Keep what the thread sent before it ended: read to EOF, then close.
        const timer = setTimeout(() => channel.close(), DRAIN_AFTER_EXIT_MS).unref();
        void channel.whenEnded().then(() => {
          clearTimeout(timer);
          // Frames a consumer (the pool) registered for are delivered before 'end'.
          setImmediate(() => channel.close());
        });
        resolve(this.exitcode);
      });
    });
    this.setDaemon(daemon);
  }

  terminate(): void {
    this.#stop(15);
  }

  kill(): void {
    this.#stop(9);
  }

  /**
   * What a signal would do to a process: any signal ends a thread child
   * (it cannot catch one), and it reports −signum. Never signals the process.
   */
  sendSignal(sig: NodeJS.Signals | number): void {
    const signum = typeof sig === 'number' ? sig : osConstants.signals[sig];
    if (!signum) throw new ValueError(`invalid signal: ${String(sig)}`);
    this.#stop(signum);
  }

  #stop(signal: number): void {
    if (this.exitcode !== null) return;
    this.#signal = signal;
    void this.worker.terminate().catch(() => undefined);
  }

  setDaemon(daemon: boolean): void {
    // A daemonic thread does not keep the program alive (it ends with the process).
    if (daemon) this.worker.unref();
    else this.worker.ref();
  }

  close(): void {
    this.channel.close();
  }
}

/** Worker flags: the parent's, less those a Worker refuses (they are per-process). */
function workerExecArgv(): string[] {
  const argv = childExecArgv();
  const allowed: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // --import/--require/--loader stay per-process: a Worker on Node 20 cannot take loader flags.
    if (['--import', '--loader', '--experimental-loader', '--require', '-r'].includes(arg)) {
      i++;
      continue;
    }
    allowed.push(arg);
  }
  return allowed;
}

let execArgv: string[] | undefined;

function startWorker(boot: ThreadBoot, name: string): Worker {
  const options = { workerData: boot, stdin: false, name, execArgv: (execArgv ??= workerExecArgv()) };
  try {
    return new Worker(ENTRY_PATH, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    // A flag this Node.js does not allow per thread: run the thread with the process's settings.
    execArgv = [];
    return new Worker(ENTRY_PATH, { ...options, execArgv });
  }
}

export const threadLauncher: Launcher = {
  method: 'thread',
  start(request: LaunchRequest): Popen {
    const [parentEnd, childEnd] = socketpair();
    const fds: number[] = [];
    let worker: Worker;
    try {
      for (const fd of request.fds) fds.push(dupFd(fd));
      worker = startWorker(
        { fd: childEnd, fds, loaders: threadLoaders(deferredLoaders()), execArgv: process.execArgv }, request.name);
    } catch (err) {
      for (const fd of [parentEnd, childEnd, ...fds]) {
        try { fs.closeSync(fd); } catch { /* already closed */ }
      }
      throw err;
    }
    // The thread owns childEnd and the duplicates from here on: they close with its event loop.
    const channel = new FrameChannel(parentEnd);
    channel.send(ControlTag.Boot, request.boot);
    // Out now: the caller may block its thread next (recvSync on a pipe to this child).
    channel.flushSync();
    return new ThreadPopen(channel, worker, request.daemon, request.name);
  },
};

registerLauncher('thread', threadLauncher);
