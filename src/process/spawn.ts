/**
 * The spawn start method: a fresh Node.js process running the bootstrap,
 * with the control channel on fd 3 (a socketpair) and inherited handles on
 * fd 4 and up. stdout/stderr are the parent's; stdin is /dev/null (CPython).
 */
import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { socketpair } from '../native/fd.js';
import { FrameChannel } from '../wire/channel.js';
import type { Launcher, LaunchRequest, Popen } from './launcher.js';
import { registerLauncher } from './start-method.js';
import { LOADER_ARG, childExecArgv, deferredLoaders } from './loader.js';

import { ControlTag, PDEATHSIG_ARG } from './control.js';

export const BOOTSTRAP_PATH = fileURLToPath(new URL('./bootstrap.js', import.meta.url));

let executable = process.execPath;

/** Python's set_executable: the Node.js binary children run. */
export function setExecutable(path: string): void {
  executable = path;
}

export function exitcodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? osConstants.signals[signal] : undefined;
  return number ? -number : 1;
}

/**
 * What a Popen needs of a child process, whoever started it: the spawn
 * launcher holds a ChildProcess; the forkserver's children are its server's.
 */
export interface ChildHandle {
  readonly pid: number;
  /** Calls back once, with CPython's exit code, when the process has exited. */
  onExit(callback: (code: number) => void): void;
  signal(sig: NodeJS.Signals): void;
  /** Whether this child keeps the parent's event loop alive. */
  setRef(on: boolean): void;
}

function childProcessHandle(child: ChildProcess): ChildHandle {
  const pid = child.pid ?? -1;
  return {
    pid,
    onExit(callback) {
      child.once('exit', (code, signal) => callback(exitcodeOf(code, signal)));
      child.once('error', () => callback(pid === -1 ? 1 : exitcodeOf(null, 'SIGKILL')));
    },
    signal: (sig) => child.kill(sig),
    setRef: (on) => (on ? child.ref() : child.unref()),
  };
}

/** A child process with its control channel: the Popen of the spawn and forkserver start methods. */
export class ProcessPopen implements Popen {
  readonly pid: number;
  readonly exited: Promise<number>;
  exitcode: number | null = null;

  constructor(readonly channel: FrameChannel, private readonly child: ChildHandle, daemon: boolean) {
    this.pid = child.pid;
    this.exited = new Promise<number>((resolve) => {
      child.onExit((code) => {
        if (this.exitcode !== null) return;
        this.exitcode = code;
        daemons.delete(this);
        // Keep what the child sent before it died: read to EOF, then close.
        const channel = this.channel;
        const timer = setTimeout(() => channel.close(), DRAIN_AFTER_EXIT_MS).unref();
        void channel.whenEnded().then(() => {
          clearTimeout(timer);
          // Frames a consumer (the pool) registered for are delivered before 'end'.
          setImmediate(() => channel.close());
        });
        resolve(code);
      });
    });
    this.setDaemon(daemon);
  }

  get ident(): number {
    return this.pid;
  }

  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  kill(): void {
    this.sendSignal('SIGKILL');
  }

  sendSignal(sig: NodeJS.Signals): void {
    if (this.exitcode !== null) return;
    try {
      this.child.signal(sig);
    } catch {
      /* already gone */
    }
  }

  setDaemon(daemon: boolean): void {
    // A daemonic child does not keep its parent alive; it is killed when the parent exits.
    this.child.setRef(!daemon);
    if (daemon) daemons.add(this);
    else daemons.delete(this);
  }

  close(): void {
    this.channel.close();
  }
}

let setpriv: string | null | undefined;

/**
 * Set the child's parent-death signal before exec, with util-linux's setpriv
 * when the system has it: the child then need not load the FFI at boot
 * (≈13 ms). Otherwise the child sets it itself.
 */
function withParentDeathSignal(file: string, args: string[]): [string, string[]] {
  if (setpriv === undefined) setpriv = findSetpriv();
  if (!setpriv) return [file, args];
  return [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args, PDEATHSIG_ARG]];
}

function findSetpriv(): string | null {
  if (process.platform !== 'linux') return null;
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      const help = spawnSync(candidate, ['--help'], { encoding: 'utf8', timeout: 2000 });
      if (help.status === 0 && help.stdout.includes('--pdeathsig')) return candidate;
    } catch {
      /* not there */
    }
  }
  return null;
}

/** How long the parent keeps reading a dead child's channel (a grandchild may hold it open). */
const DRAIN_AFTER_EXIT_MS = 10_000;

const daemons = new Set<ProcessPopen>();
process.on('exit', () => {
  for (const d of daemons) d.terminate();
});

/** A Node.js process running the bootstrap, waiting for its boot message on fd 3. */
export interface BootingChild {
  child: ChildProcess;
  channel: FrameChannel;
}

/** Start a bootstrap process; `fds` become its fd 4, 5, … */
export function spawnBootstrap(fds: number[], extraArgs: string[] = [], nodeFlags: string[] = []): BootingChild {
  const [parentEnd, childEnd] = socketpair();
  let child: ChildProcess;
  try {
    const loaders = deferredLoaders().map((url) => LOADER_ARG + url);
    const nodeArgs = [...childExecArgv(), ...nodeFlags, BOOTSTRAP_PATH, String(fds.length), ...loaders, ...extraArgs];
    const [file, args] = withParentDeathSignal(executable, nodeArgs);
    child = spawnChild(file, args, {
      stdio: ['ignore', 'inherit', 'inherit', childEnd, ...fds],
      env: process.env,
    });
  } finally {
    // The child has its own copy now (or never will).
    fs.closeSync(childEnd);
  }
  return { child, channel: new FrameChannel(parentEnd) };
}

/** Hand a booting child its boot message: it becomes the started process. */
export function bootChild({ child, channel }: BootingChild, request: LaunchRequest): Popen {
  channel.send(ControlTag.Boot, request.boot);
  // Out now: the caller may block its thread next (recvSync on a pipe to this child).
  channel.flushSync();
  return new ProcessPopen(channel, childProcessHandle(child), request.daemon);
}

export const spawnLauncher: Launcher = {
  method: 'spawn',
  start(request: LaunchRequest): Popen {
    return bootChild(spawnBootstrap(request.fds), request);
  },
};

registerLauncher('spawn', spawnLauncher);
