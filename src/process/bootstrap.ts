/**
 * The child's entry point: read the boot message from fd 3, become the
 * Process object, import what the task needs, run it, and exit with
 * CPython's exit codes. A child never outlives its parent: EOF on fd 3 or
 * the parent-death signal ends it. The thread start method's entry
 * (thread-entry.ts) runs the same `runChild` over its own channel.
 */
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { setParentDeathSignal, socketpair } from '../native/fd.js';
import { FrameChannel } from '../wire/channel.js';
import type { Frame } from '../wire/frames.js';
import { flushAllSync } from '../wire/writer.js';
import { codec, type WireContext } from '../wire/codec.js';
import { addKnownModules, deferLoaders, exportOf, loadModule, setMainModuleUrl } from '../modules.js';
import { LOADER_ARG } from './loader.js';
import { describeTask, explainTaskError, resolveTask, type TaskSpec } from '../task.js';
import {
  Process, joinChildrenAtExit, setBootstrapping, setParentProcess, type BootData,
} from './process.js';
import { setDefaultStartMethod } from './start-method.js';
import { ControlTag, FORKSERVER_ARG, PDEATHSIG_ARG, PRELOAD_ARG, setControlChannel } from './control.js';
import { SERVER_V8_FLAG, awaitDescriptors, descriptorsWaiting, serveForks } from './forkserver-server.js';
import { runExitHooks } from './exit-hooks.js';

const FIRST_INHERITED_FD = 4;

/** How a child came to be: what differs between a spawned process and a thread. */
export interface ChildEnvironment {
  /** The control channel to the parent (fd 3 of a spawned child; a socketpair end for a thread). */
  control: FrameChannel;
  /** The file descriptors the boot message refers to, in order. */
  fds: number[];
  /** The boot message, when the entry has read it already (a forkserver child reads it blocking). */
  boot?: Frame | null;
  /** The parent closed the control channel: end this child (no orphans). */
  onParentGone(): void;
}

/**
 * The spawn entry: a fresh Node.js process with its channel on fd 3. The
 * forkserver's server starts here too, and each child it forks goes on from
 * serveForks() with the channel its parent sent.
 */
async function main(): Promise<void> {
  const presetDeathSignal = process.argv.at(-1) === PDEATHSIG_ARG;
  if (presetDeathSignal) process.argv.pop();
  else setParentDeathSignal('SIGKILL', process.ppid);
  const fdCount = Number(process.argv[2] ?? 0);
  const extra = process.argv.slice(3);
  deferLoaders(extra.filter((a) => a.startsWith(LOADER_ARG)).map((a) => a.slice(LOADER_ARG.length)));
  const preload = extra.filter((a) => a.startsWith(PRELOAD_ARG)).map((a) => a.slice(PRELOAD_ARG.length));
  process.argv.splice(1, process.argv.length - 1);
  if (extra.includes(FORKSERVER_ARG)) {
    // The server's own V8 flag (see forkserver-server.ts) is not for the processes its children start.
    process.execArgv = process.execArgv.filter((flag) => flag !== SERVER_V8_FLAG);
    await preloadModules(preload);
    await rehearseBoot();
    const link = serveForks();
    // A spare forked ahead of its request goes through the boot path once more while nobody
    // waits, so that the pages it writes are its own before the real boot writes them.
    if (!descriptorsWaiting(link)) await rehearseBoot();
    const [controlFd, ...fds] = awaitDescriptors(link);
    // Nothing else to do until the boot message is here: read it blocking, without a turn of the loop.
    const control = new FrameChannel(controlFd!);
    await runChild({
      control,
      boot: control.nextFrameSync(),
      fds,
      onParentGone: () => process.kill(process.pid, 'SIGKILL'),
    });
    return;
  }
  await runChild({
    control: new FrameChannel(3),
    fds: Array.from({ length: fdCount }, (_, i) => FIRST_INHERITED_FD + i),
    // The parent is gone: so are we.
    onParentGone: () => process.kill(process.pid, 'SIGKILL'),
  });
}

/**
 * Become the child: wait for the boot message on the control channel, become
 * the Process object, run it, and exit (the process, or the thread) with
 * CPython's exit code. Shared by every start method.
 */
export async function runChild(env: ChildEnvironment): Promise<never> {
  const { control } = env;
  let frame = env.boot;
  if (frame === undefined) {
    control.setKeepAlive(true);
    frame = await control.nextFrame();
    control.setKeepAlive(false);
  }
  if (!frame || frame.tag !== ControlTag.Boot) process.exit(1);

  let parentGone = false;
  const parentExited = new Promise<void>((resolve) => {
    control.onClose = () => {
      parentGone = true;
      resolve();
      env.onParentGone();
    };
  });
  control.listen();
  setControlChannel(control);

  // We are a child from here on: modules imported while decoding see isMainProcess() === false.
  const parent = {
    name: 'MainProcess',
    pid: process.ppid,
    isAlive: () => !parentGone,
    join: async (timeout?: number) => {
      if (timeout === undefined) return parentExited;
      await Promise.race([parentExited, new Promise((r) => setTimeout(r, timeout).unref())]);
    },
  };
  setParentProcess(parent);
  const ctx: WireContext = { purpose: 'spawn', fds: env.fds };
  const data = await decodeBoot(frame.payload, ctx);
  setDefaultStartMethod(data.method);
  parent.name = data.parentName;
  parent.pid = data.parentPid;

  let proc: Process<any>;
  let code = 0;
  try {
    setBootstrapping(true);
    proc = await buildProcess(data);
  } finally {
    setBootstrapping(false);
  }
  Process._becomeCurrent(proc, data);

  try {
    await proc.run();
  } catch (err) {
    code = 1;
    const shown = explainRunError(proc, err);
    process.stderr.write(`Process ${data.name}:\n${shown}\n`);
  }
  if (code === 0 && typeof process.exitCode === 'number') code = process.exitCode;
  await runExitHooks();
  await joinChildrenAtExit();
  // Everything sent before returning is delivered (CPython writes at send()).
  flushAllSync();
  process.exit(code);
}

let runningTarget: Function | null = null;

function explainRunError(_proc: Process<any>, err: unknown): string {
  const explained = runningTarget ? explainTaskError(runningTarget, err) : err;
  return explained instanceof Error ? inspect(explained) : String(explained);
}

/**
 * The forkserver imports the library, the pool worker and the preload modules
 * before it forks. Not TypeScript modules: activating a loader starts a
 * thread, and a forked child has none of its parent's threads; a child
 * imports those itself.
 */
async function preloadModules(modules: string[]): Promise<void> {
  setBootstrapping(true);
  // The library first (user modules import it, pool workers run on it), imported as any user
  // module imports it: not as a task module, whose exported classes would travel by reference.
  for (const m of ['../index.js', '../pool/worker.js']) await import(m);
  for (const m of modules.filter((m) => !/\.[mc]?tsx?$/.test(m))) {
    try {
      await (m.startsWith('file:') ? loadModule(m) : import(m));
    } catch (err) {
      process.stderr.write(`billiard: forkserver preload of ${m} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  setBootstrapping(false);
}

/** The target of the forkserver's rehearsal: nothing. */
export function rehearsalTarget(..._args: unknown[]): void {}

/**
 * The forkserver runs a child's boot path once before it forks: V8 compiles
 * it and sets up its caches here, and every child inherits them instead of
 * doing that work itself (in a forked child, each page written costs a copy).
 */
async function rehearseBoot(): Promise<void> {
  const [a, b] = socketpair();
  const parentEnd = new FrameChannel(a);
  const childEnd = new FrameChannel(b);
  try {
    const boot: BootData = {
      method: 'forkserver', mainUrl: undefined, modules: [], name: 'Rehearsal', identity: [1], daemon: false,
      authkey: Buffer.alloc(32), parentPid: process.ppid, parentName: 'MainProcess',
      target: describeTask(rehearsalTarget, [import.meta.url]), args: [1, 'two', { three: [3] }], subclass: null,
    };
    const ctx: WireContext = { purpose: 'spawn', fds: [] };
    parentEnd.send(ControlTag.Boot, codec.encode(boot, { ctx, root: '' }).body);
    parentEnd.flushSync();
    const frame = await childEnd.nextFrame();
    if (!frame) return;
    const data = await decodeBoot(frame.payload, ctx);
    const proc = await buildProcess(data);
    await proc.run();
  } catch (err) {
    process.stderr.write(`billiard: forkserver rehearsal failed: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    runningTarget = null;
    parentEnd.close();
    childEnd.close();
  }
}

async function decodeBoot(payload: Buffer, ctx: WireContext): Promise<BootData> {
  let decoded = codec.decode(payload, { ctx });
  let data = decoded.value as BootData;
  setMainModuleUrl(data.mainUrl);
  addKnownModules(data.modules);
  setBootstrapping(true);
  try {
    // A class known only by its registered name lives in one of the parent's modules:
    // try those before the main module.
    const candidates = (missing: string[]) => missing.flatMap((url) =>
      url ? [url] : data.modules.filter((m) => m !== data.mainUrl));
    for (const pick of [candidates, (missing: string[]) => missing.map((url) => url || data.mainUrl!)]) {
      if (decoded.missingModules.length === 0) break;
      await Promise.allSettled(pick(decoded.missingModules).filter(Boolean).map((url) => loadModule(url)));
      decoded = codec.decode(payload, { ctx });
    }
  } finally {
    setBootstrapping(false);
  }
  data = decoded.value as BootData;
  return data;
}

async function buildProcess(data: BootData): Promise<Process<any>> {
  if (data.subclass) {
    const { url, name, state } = data.subclass;
    const cls = exportOf(await loadModule(url), name) as typeof Process | undefined;
    if (typeof cls !== 'function') throw new Error(`${url} does not export ${name}`);
    // Build the instance without running the user's constructor: its state arrives as it was.
    const proc = Reflect.construct(Process, [], cls) as Process<any>;
    const { __billiardTarget, __billiardArgs, ...fields } = state as Record<string, unknown>;
    Object.assign(proc, fields);
    const target = __billiardTarget ? await resolveTask(__billiardTarget as TaskSpec) : null;
    Process._setRun(proc, target && track(target), (__billiardArgs as unknown[]) ?? []);
    return proc;
  }
  const proc = new Process();
  const target = data.target ? await resolveTask(data.target) : null;
  Process._setRun(proc, target && track(target), data.args);
  return proc;
}

function track(fn: Function): Function {
  runningTarget = fn;
  return fn;
}

/** Report a child that failed before it could run its target, and end it. */
export function bootFailed(err: unknown): never {
  process.stderr.write(`billiard child bootstrap failed:\n${err instanceof Error ? inspect(err) : String(err)}\n`);
  process.exit(1);
}

// Run only as the entry of a spawned child; a thread child imports runChild instead.
if (isMainThread) main().catch(bootFailed);
