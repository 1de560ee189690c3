/**
 * The forkserver start method (CPython's): from the context's first use, a
 * server process booted with the library and the preload modules imported
 * forks every child (forkserver-server.ts; native/fork.ts says how a Node.js
 * process can fork). start() sends the server the child's control socket and inherited
 * descriptors, and blocks only until the server answers with the pid; the
 * server reports the child's exit code when it ends.
 *
 * The server dies with this process (parent-death signal, EOF on its
 * socket), and its children die with it.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { OSError, TypeError } from '../errors.js';
import { toModuleUrl } from '../modules.js';
import { sendFds, socketpair } from '../native/fd.js';
import { FrameChannel } from '../wire/channel.js';
import type { Frame } from '../wire/frames.js';
import { ControlTag, FORKSERVER_ARG, PRELOAD_ARG } from './control.js';
import { OP_FORK, REQUEST_SIZE, SERVER_V8_FLAG, ServerTag } from './forkserver-server.js';
import type { Launcher, LaunchRequest, Popen } from './launcher.js';
import { ProcessPopen, spawnBootstrap, spawnLauncher, type ChildHandle } from './spawn.js';
import { registerLauncher } from './start-method.js';
import { afterForkInChild } from './after-fork.js';

/** How long start() waits for a server that is still booting before starting the child cold. */
const SERVER_BOOT_WAIT_MS = 10_000;

let preload: string[] = [];

/**
 * Modules the server imports before it forks anything (CPython's
 * set_forkserver_preload). Takes effect with the next server: a running one
 * is replaced.
 */
export function setForkserverPreload(moduleNames: readonly string[]): void {
  if (!Array.isArray(moduleNames) || !moduleNames.every((m) => typeof m === 'string')) {
    throw new TypeError('module_names must be a list of strings');
  }
  preload = moduleNames.map((m) => (m.startsWith('node:') || /^[@a-z0-9][\w./-]*$/i.test(m) && !m.includes('/') ? m : toModuleUrl(m)));
  if (server) {
    const old = server;
    server = null;
    old.retire();
    startForkserver();
  }
}

class ServerGone extends OSError {}

/** A child of the server, as the Popen sees it. */
class ForkedChild implements ChildHandle {
  private exitCallbacks: Array<(code: number) => void> = [];
  exitcode: number | null = null;
  private ref = false;

  constructor(readonly pid: number, private readonly owner: Server) {}

  onExit(callback: (code: number) => void): void {
    if (this.exitcode !== null) callback(this.exitcode);
    else this.exitCallbacks.push(callback);
  }

  exited(code: number): void {
    if (this.exitcode !== null) return;
    this.exitcode = code;
    this.setRef(false);
    for (const callback of this.exitCallbacks.splice(0)) callback(code);
  }

  signal(sig: NodeJS.Signals): void {
    // Until the server's report the pid is this child's; the server reports right after reaping
    // (a pid reused in between is the race CPython's forkserver has too).
    if (this.exitcode === null) process.kill(this.pid, sig);
  }

  setRef(on: boolean): void {
    if (on === this.ref || (on && this.exitcode !== null)) return;
    this.ref = on;
    this.owner.refs += on ? 1 : -1;
    this.owner.updateRef();
  }
}

class Server {
  readonly process: ChildProcess;
  readonly channel: FrameChannel;
  ready = false;
  refs = 0;
  readonly children = new Map<number, ForkedChild>();
  private retired = false;

  constructor() {
    const booting = spawnBootstrap([], [FORKSERVER_ARG, ...preload.map((m) => PRELOAD_ARG + m)], [SERVER_V8_FLAG]);
    this.process = booting.child;
    this.channel = booting.channel;
    this.process.unref();
    this.process.once('exit', () => this.gone());
    this.channel.onFrame((frame) => this.onReport(frame));
    this.updateRef();
  }

  /** Keep the event loop alive while a non-daemonic child runs (a spawned child's handle does so). */
  updateRef(): void {
    this.channel.setKeepAlive(this.refs > 0);
  }

  onReport(frame: Frame): void {
    if (frame.tag === ServerTag.Ready) this.ready = true;
    else if (frame.tag === ServerTag.Exited) {
      const pid = frame.payload.readInt32LE(0);
      const child = this.children.get(pid);
      this.children.delete(pid);
      child?.exited(frame.payload.readInt32LE(4));
      if (this.retired && this.children.size === 0) this.channel.close();
    }
  }

  /** Block until the server has booted; false if it died or took too long. */
  waitReady(): boolean {
    const deadline = Date.now() + SERVER_BOOT_WAIT_MS;
    while (!this.ready && !this.retired) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.channel.waitReadableSync(left)) return false;
      const frame = this.channel.tryFrame();
      if (!frame) return false;
      this.onReport(frame);
    }
    return this.ready && !this.retired;
  }

  /** Ask for a child; blocks until the server answers with its pid. */
  fork(fds: readonly number[]): ForkedChild {
    const request = Buffer.alloc(REQUEST_SIZE);
    request.writeUInt32LE(OP_FORK, 0);
    request.writeUInt32LE(fds.length, 4);
    try {
      sendFds(this.channel.fd, request, fds);
    } catch (err) {
      const errno = (err as OSError).errno;
      if (errno === 'EPIPE' || errno === 'ECONNRESET') throw this.goneAway();
      throw err;
    }
    for (;;) {
      const frame = this.channel.nextFrameSync();
      if (!frame) throw this.goneAway();
      if (frame.tag === ServerTag.Forked) {
        const child = new ForkedChild(frame.payload.readInt32LE(0), this);
        this.children.set(child.pid, child);
        this.deliverBuffered();
        return child;
      }
      if (frame.tag === ServerTag.Failed) {
        this.deliverBuffered();
        throw new OSError(`forkserver: ${frame.payload.toString('utf8')}`);
      }
      this.onReport(frame);
    }
  }

  /** The server died before its exit was noticed: the next start brings a new one. */
  private goneAway(): ServerGone {
    if (server === this) server = null;
    return new ServerGone('the forkserver has gone away');
  }

  /** Reports read along with the answer are handled now, not at the next read. */
  private deliverBuffered(): void {
    let frame: Frame | null | undefined;
    while ((frame = this.channel.tryFrame())) this.onReport(frame);
  }

  /** The server has exited: its children died with it (their parent-death signal is SIGKILL). */
  private gone(): void {
    this.retired = true;
    if (server === this) server = null;
    for (const child of this.children.values()) child.exited(-9);
    this.children.clear();
    this.channel.close();
  }

  /** Stop serving: children already forked keep running until the server exits with the last one. */
  retire(): void {
    this.retired = true;
    // Closing our end makes the server exit (EOF); its children then die with it, as CPython's
    // forkserver children do when their server is stopped.
    if (this.children.size === 0) this.channel.close();
  }
}

let server: Server | null = null;

// A forked child that inherited a server (its own server process had used the forkserver context,
// from a preload module say) must not talk on that server's socket: it starts its own when needed.
afterForkInChild(() => {
  server?.channel.close();
  server = null;
});

/** Well below a socket's buffer: sending this much before the child exists cannot block. */
const EARLY_BOOT_MAX = 32 * 1024;

function sendBoot(channel: FrameChannel, request: LaunchRequest): void {
  channel.send(ControlTag.Boot, request.boot);
  // Out now: the caller may block its thread next (recvSync on a pipe to this child).
  channel.flushSync();
}

/** Start the server (the context's first use); a no-op while one runs. */
export function startForkserver(): void {
  server ??= new Server();
}

process.on('exit', () => {
  server?.process.kill('SIGKILL');
});

export const forkserverLauncher: Launcher = {
  method: 'forkserver',
  start(request: LaunchRequest): Popen {
    startForkserver();
    const current = server!;
    // A server that could not start: the child starts as with spawn rather than not at all.
    if (!current.waitReady()) return spawnLauncher.start(request);
    const [parentEnd, childEnd] = socketpair();
    const channel = new FrameChannel(parentEnd);
    // A boot message the socket's buffer surely takes goes first: the child finds it waiting.
    const early = request.boot.length <= EARLY_BOOT_MAX;
    if (early) sendBoot(channel, request);
    let child: ForkedChild;
    try {
      child = current.fork([childEnd, ...request.fds]);
    } catch (err) {
      channel.close();
      // The server died under us: this child starts as with spawn; the next start brings a new server.
      if (err instanceof ServerGone) return spawnLauncher.start(request);
      throw err;
    } finally {
      fs.closeSync(childEnd);
    }
    if (!early) sendBoot(channel, request);
    return new ProcessPopen(channel, child, request.daemon);
  },
};

registerLauncher('forkserver', forkserverLauncher);
