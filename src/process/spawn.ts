/**
 * The spawn start method: a fresh Node.js process running the bootstrap,
 * with the control channel on fd 3 (a socketpair) and inherited handles on
 * fd 4 and up. stdout/stderr are the parent's; stdin is /dev/null (CPython).
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { socketpair } from '../native/backend.js';
import { FrameChannel } from '../wire/channel.js';
import { Tag } from '../wire/frames.js';
import type { Launcher, LaunchRequest, Popen } from './launcher.js';
import { registerLauncher } from './start-method.js';
import { childExecArgv } from './loader.js';

export const BOOTSTRAP_PATH = fileURLToPath(new URL('./bootstrap.js', import.meta.url));
export const enum ControlTag {
  Boot = Tag.Control,
}

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

class SpawnPopen implements Popen {
  readonly pid: number;
  readonly exited: Promise<number>;
  exitcode: number | null = null;
  private readonly child: ChildProcess;

  constructor(readonly channel: FrameChannel, child: ChildProcess, daemon: boolean) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.exited = new Promise<number>((resolve) => {
      const done = (code: number) => {
        if (this.exitcode !== null) return;
        this.exitcode = code;
        daemons.delete(this);
        this.channel.close();
        resolve(code);
      };
      child.once('exit', (code, signal) => done(exitcodeOf(code, signal)));
      child.once('error', () => done(this.pid === -1 ? 1 : exitcodeOf(null, 'SIGKILL')));
    });
    this.setDaemon(daemon);
  }

  get ident(): number {
    return this.pid;
  }

  terminate(): void {
    this.signal('SIGTERM');
  }

  kill(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.exitcode !== null) return;
    try {
      this.child.kill(sig);
    } catch {
      /* already gone */
    }
  }

  setDaemon(daemon: boolean): void {
    // A daemonic child does not keep its parent alive; it is killed when the parent exits.
    if (daemon) {
      this.child.unref();
      daemons.add(this);
    } else {
      this.child.ref();
      daemons.delete(this);
    }
  }

  close(): void {
    this.channel.close();
  }
}

const daemons = new Set<SpawnPopen>();
process.on('exit', () => {
  for (const d of daemons) d.terminate();
});

export const spawnLauncher: Launcher = {
  method: 'spawn',
  start(request: LaunchRequest): Popen {
    const [parentEnd, childEnd] = socketpair();
    let child: ChildProcess;
    try {
      child = spawnChild(executable, [...childExecArgv(), BOOTSTRAP_PATH, String(request.fds.length)], {
        stdio: ['ignore', 'inherit', 'inherit', childEnd, ...request.fds],
        env: process.env,
      });
    } finally {
      // The child has its own copy now (or never will).
      fs.closeSync(childEnd);
    }
    const channel = new FrameChannel(parentEnd);
    channel.send(ControlTag.Boot, request.boot);
    // Out now: the caller may block its thread next (recvSync on a pipe to this child).
    channel.flushSync();
    return new SpawnPopen(channel, child, request.daemon);
  },
};

registerLauncher('spawn', spawnLauncher);
