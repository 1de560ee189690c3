/**
 * The forkserver start method. Node.js cannot fork, so the "server" is the
 * parent itself keeping a few warm children: Node.js processes already booted,
 * with the preload modules imported, waiting for a boot message. start() hands
 * one its boot message (so it stays synchronous and the pid is known at
 * once) and a replacement warms up in the background.
 *
 * A process whose arguments carry file descriptors (a Connection) needs them
 * at spawn time, so it starts cold, exactly as with spawn.
 */
import { availableParallelism } from 'node:os';
import { TypeError } from '../errors.js';
import { toModuleUrl } from '../modules.js';
import type { Launcher, LaunchRequest, Popen } from './launcher.js';
import { registerLauncher } from './start-method.js';
import { bootChild, spawnBootstrap, type BootingChild } from './spawn.js';
import { PRELOAD_ARG, WARM_ARG } from './control.js';


let preload: string[] = [];
const warm: BootingChild[] = [];
let started = false;
let refill: NodeJS.Immediate | null = null;

/** How many warm children to keep: enough for a small pool to start at once. */
function warmTarget(): number {
  return Math.min(4, Math.max(2, availableParallelism()));
}

/**
 * Modules every warm child imports before it is used (CPython's
 * set_forkserver_preload). Takes effect for children warmed from now on.
 */
export function setForkserverPreload(moduleNames: readonly string[]): void {
  if (!Array.isArray(moduleNames) || !moduleNames.every((m) => typeof m === 'string')) {
    throw new TypeError('module_names must be a list of strings');
  }
  preload = moduleNames.map((m) => (m.startsWith('node:') || /^[@a-z0-9][\w./-]*$/i.test(m) && !m.includes('/') ? m : toModuleUrl(m)));
  // Children already warm have the old list: replace them.
  for (const child of warm.splice(0)) child.child.kill('SIGKILL');
  if (started) scheduleRefill();
}

function warmArgs(): string[] {
  return [WARM_ARG, ...preload.map((m) => PRELOAD_ARG + m)];
}

function warmOne(): BootingChild {
  const booting = spawnBootstrap([], warmArgs());
  // A warm child never keeps its parent alive, and dies with it.
  booting.child.unref();
  booting.child.once('exit', () => {
    const i = warm.indexOf(booting);
    if (i >= 0) warm.splice(i, 1);
  });
  return booting;
}

function scheduleRefill(): void {
  refill ??= setImmediate(() => {
    refill = null;
    while (warm.length < warmTarget()) warm.push(warmOne());
  });
  refill.unref();
}

/** Start warming children (the context's first use). */
export function startForkserver(): void {
  if (started) return;
  started = true;
  scheduleRefill();
}

process.on('exit', () => {
  for (const { child } of warm) child.kill('SIGKILL');
});

export const forkserverLauncher: Launcher = {
  method: 'forkserver',
  start(request: LaunchRequest): Popen {
    startForkserver();
    scheduleRefill();
    if (request.fds.length > 0) return bootChild(spawnBootstrap(request.fds, warmArgs()), request);
    let booting: BootingChild | undefined;
    while ((booting = warm.shift()) && booting.child.exitCode !== null) { /* died while warm */ }
    return bootChild(booting ?? warmOne(), request);
  },
};

registerLauncher('forkserver', forkserverLauncher);
