/**
 * Process: CPython's Process object, with its lifecycle checks, names,
 * exit codes and the registry of this process's children.
 */
import { createRequire } from 'node:module';
import { isMainThread, threadId } from 'node:worker_threads';
import { AssertionError, ProcessError, RuntimeError, TaskSerializationError, TypeError, ValueError } from '../errors.js';
import { codec, type WireContext } from '../wire/codec.js';
import { describeTask, exportAdvice, type Task, type TaskSpec } from '../task.js';
import { addKnownModules, findExport, getMainModuleUrl, knownModules } from '../modules.js';
import type { Popen } from './launcher.js';
import { fixDefaultStartMethod, launcherFor, type StartMethod } from './start-method.js';

export interface ProcessOptions<A extends unknown[] = unknown[]> {
  /** The function to run in the child (see "Tasks" in the docs). */
  target?: Task<A> | null;
  args?: A | Iterable<unknown>;
  name?: string;
  /** null/undefined: inherit the current process's flag. */
  daemon?: boolean | null;
  /** Modules whose exports may be sent by reference. */
  modules?: string[];
}

/** What `wait()` accepts for a process: settles when the process exits. */
export class Sentinel {
  #popen: Popen;
  constructor(popen: Popen) {
    this.#popen = popen;
  }
  get pid(): number {
    return this.#popen.pid;
  }
  /** True once the process has exited. */
  ready(): boolean {
    return this.#popen.exitcode !== null;
  }
  /** Settles when the process has exited. */
  get exited(): Promise<number> {
    return this.#popen.exited;
  }
}

/** Boot message of a child: everything it needs to become the Process object. */
export interface BootData {
  method: StartMethod;
  mainUrl: string | undefined;
  modules: string[];
  name: string;
  identity: number[];
  daemon: boolean;
  authkey: Buffer;
  parentPid: number;
  parentName: string;
  target: TaskSpec | null;
  args: unknown[];
  /** A user subclass of Process: where its class lives and its own fields. */
  subclass: { url: string; name: string; state: Record<string, unknown> } | null;
}

// ---- this process ------------------------------------------------------------
let counter = 0;
let bootstrapping = false;
const children = new Set<Process<any>>();
const builtinClasses = new Set<Function>();

// node:crypto costs a child ≈2 ms to load; only the main process makes a key.
const mainConfig = {
  identity: [] as number[],
  key: null as Buffer | null,
  get authkey(): Buffer {
    return (this.key ??= createRequire(import.meta.url)('node:crypto').randomBytes(32) as Buffer);
  },
  set authkey(value: Buffer) {
    this.key = value;
  },
};

export class Process<A extends unknown[] = any[]> {
  /** Start method of this class, or null for the default context's. */
  static _startMethod: StartMethod | null = null;

  #target: Task<any[]> | null;
  #args: unknown[];
  #name: string;
  #daemon: boolean;
  #authkey: Buffer;
  #identity: number[];
  #modules: string[];
  #popen: Popen | null = null;
  #closed = false;
  #parentPid: number;
  #isCurrent = false;

  constructor(opts: ProcessOptions<A> = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('Process options must be an object');
    const current = currentProcessOrNull();
    this.#identity = [...(current ? current.#identity : mainConfig.identity), ++counter];
    this.#target = (opts.target ?? null) as Task<any[]> | null;
    if (this.#target !== null && typeof this.#target !== 'function') {
      throw new TypeError('target must be a function');
    }
    if (opts.args !== undefined && opts.args !== null && typeof (opts.args as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`args must be an array or another iterable, not ${typeof opts.args}`);
    }
    this.#args = opts.args === undefined || opts.args === null ? [] : [...(opts.args as Iterable<unknown>)];
    this.#modules = opts.modules ?? [];
    // Classes those modules export keep their class in messages from now on.
    addKnownModules(this.#modules);
    const className = (this.constructor as typeof Process)._displayName ?? this.constructor.name;
    this.#name = opts.name ?? `${className}-${this.#identity.join(':')}`;
    if (typeof this.#name !== 'string') throw new AssertionError('name must be a string');
    this.#daemon = opts.daemon ?? (current ? current.#daemon : false);
    this.#authkey = current ? current.#authkey : mainConfig.authkey;
    this.#parentPid = process.pid;
  }

  /** Name used in default process names (CPython uses the class name). */
  static _displayName: string | undefined;

  /** Runs in the child. Override it in an exported subclass; by default calls target(...args). */
  run(): unknown {
    if (this.#target) return this.#target(...this.#args);
    return undefined;
  }

  /** Start the child. Throws synchronously on misuse or when target/args cannot be sent. */
  start(): void {
    this.#checkClosed();
    if (this.#popen !== null) throw new AssertionError('cannot start a process twice');
    if (this.#parentPid !== process.pid) {
      throw new AssertionError('can only start a process object created by current process');
    }
    const current = currentProcessOrNull();
    if (current && current.#daemon) throw new AssertionError('daemonic processes are not allowed to have children');
    if (bootstrapping) throw bootstrapError();
    reapChildren();
    const method = (this.constructor as typeof Process)._startMethod ?? fixDefaultStartMethod();
    const launcher = launcherFor(method);
    if (!launcher) throw new ValueError(`start method '${method}' is not available`);
    const ctx: WireContext = { purpose: 'spawn', fds: [] };
    const { body } = codec.encode(this.#bootData(method), { ctx, root: '' });
    this.#popen = launcher.start({ boot: body, fds: ctx.fds, daemon: this.#daemon, name: this.#name });
    children.add(this);
    void this.#popen.exited.then(() => children.delete(this));
    // CPython drops its references to target and args once started.
    this.#target = null;
    this.#args = [];
  }

  #bootData(method: StartMethod): BootData {
    const modules = knownModules(this.#modules);
    const subclass = this.#subclassRef(modules);
    let target: TaskSpec | null = null;
    if (!subclass && this.#target) target = describeTask(this.#target, this.#modules);
    return {
      method,
      mainUrl: getMainModuleUrl(),
      modules,
      name: this.#name,
      identity: this.#identity,
      daemon: this.#daemon,
      authkey: this.#authkey,
      parentPid: process.pid,
      parentName: currentProcess().name,
      target,
      args: this.#args,
      subclass,
    };
  }

  #subclassRef(modules: string[]): BootData['subclass'] {
    const cls = this.constructor;
    if (builtinClasses.has(cls)) return null;
    const found = findExport(cls, modules);
    if (!found) {
      throw new TaskSerializationError(`cannot start ${cls.name}: a Process subclass is sent by reference; ${exportAdvice(cls)}`);
    }
    const state: Record<string, unknown> = { ...(this as object) };
    const target = this.#target;
    if (target) state.__billiardTarget = describeTask(target, this.#modules);
    state.__billiardArgs = this.#args;
    return { url: found.url, name: found.name, state };
  }

  /** Wait for the child to exit, or `timeout` ms; check exitcode afterwards. */
  join(timeout?: number | null): Promise<void> {
    this.#checkClosed();
    if (this.#isCurrent) throw new AssertionError('can only join a child process');
    if (this.#parentPid !== process.pid) throw new AssertionError('can only join a child process');
    const popen = this.#popen;
    if (!popen) throw new AssertionError('can only join a started process');
    if (timeout !== undefined && timeout !== null && Number.isNaN(timeout)) throw new ValueError('timeout must be a number');
    if (popen.exitcode !== null || (timeout !== undefined && timeout !== null && timeout <= 0)) return Promise.resolve();
    return this.#waitForExit(popen, timeout);
  }

  async #waitForExit(popen: Popen, timeout: number | null | undefined): Promise<void> {
    // A daemonic child does not keep the program alive, but waiting for it does.
    const wait = timeout === undefined || timeout === null ? 1 << 30 : timeout;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([popen.exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, wait); })]);
    clearTimeout(timer);
  }

  isAlive(): boolean {
    this.#checkClosed();
    if (this.#isCurrent) return true;
    if (this.#parentPid !== process.pid) throw new AssertionError('can only test a child process');
    return this.#popen !== null && this.#popen.exitcode === null;
  }

  /** SIGTERM the child (exitcode −15). A no-op once it has exited. */
  terminate(): void {
    this.#checkClosed();
    this.#started('terminate').terminate();
  }

  /** SIGKILL the child (exitcode −9). */
  kill(): void {
    this.#checkClosed();
    this.#started('kill').kill();
  }

  /** Release the process object's resources. Throws while the child runs. */
  close(): void {
    if (this.#closed) return;
    if (this.#popen) {
      if (this.#popen.exitcode === null) {
        throw new ValueError('Cannot close a process while it is still running. You should first call join() or terminate().');
      }
      this.#popen.close();
      children.delete(this);
    }
    this.#closed = true;
  }

  get pid(): number | undefined {
    this.#checkClosed();
    if (this.#isCurrent) return process.pid;
    return this.#popen?.pid;
  }

  get ident(): number | undefined {
    this.#checkClosed();
    // A thread child's ident is its thread id; a process's, its pid.
    if (this.#isCurrent) return isMainThread ? process.pid : threadId;
    return this.#popen?.ident;
  }

  get exitcode(): number | null {
    this.#checkClosed();
    return this.#popen?.exitcode ?? null;
  }

  get sentinel(): Sentinel {
    this.#checkClosed();
    if (!this.#popen) throw new ValueError('process not started');
    return new Sentinel(this.#popen);
  }

  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    if (typeof value !== 'string') throw new AssertionError('name must be a string');
    this.#name = value;
  }

  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#popen !== null) throw new AssertionError('process has already started');
    this.#daemon = Boolean(value);
  }

  get authkey(): Buffer {
    return this.#authkey;
  }
  set authkey(value: Buffer) {
    if (!((value as unknown) instanceof Uint8Array)) throw new TypeError('authkey should be a byte string');
    this.#authkey = Buffer.from(value as Uint8Array);
    if (this.#isCurrent && this.#identity.length === 0) mainConfig.authkey = this.#authkey;
  }

  /** @internal The child's control channel (used by the pool and sync primitives). */
  _popen(): Popen | null {
    return this.#popen;
  }

  #started(what: string): Popen {
    if (!this.#popen) throw new AttributeError(`cannot ${what} a process that was never started`);
    return this.#popen;
  }

  #checkClosed(): void {
    if (this.#closed) throw new ValueError('process object is closed');
  }

  toString(): string {
    let status: string;
    if (this.#isCurrent) status = 'started';
    else if (this.#closed) status = 'closed';
    else if (!this.#popen) status = 'initial';
    else if (this.#popen.exitcode === null) status = 'started';
    else status = 'stopped';
    let info = `<${this.constructor.name} name='${this.#name}'`;
    if (this.#popen) info += ` pid=${this.#popen.pid}`;
    info += ` parent=${this.#parentPid} ${status}`;
    const code = this.#popen?.exitcode;
    if (code !== null && code !== undefined) info += ` exitcode=${code}`;
    if (this.#daemon) info += ' daemon';
    return info + '>';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal Make `proc` the object currentProcess() returns (child bootstrap). */
  static _becomeCurrent(proc: Process<any>, data: Pick<BootData, 'identity' | 'daemon' | 'authkey' | 'name'>): void {
    proc.#identity = data.identity;
    proc.#daemon = data.daemon;
    proc.#authkey = Buffer.from(data.authkey);
    proc.#name = data.name;
    proc.#isCurrent = true;
    proc.#parentPid = process.pid;
    counter = 0;
    current = proc;
  }

  /** @internal Rebuild target and args inside the child. */
  static _setRun(proc: Process<any>, target: Function | null, args: unknown[]): void {
    proc.#target = target as Task<any[]> | null;
    proc.#args = args;
  }
}
builtinClasses.add(Process);

/** Mark a library-provided Process class (not a user subclass to send by reference). */
export function markBuiltinProcessClass(cls: Function): void {
  builtinClasses.add(cls);
}

/** CPython raises AttributeError here; it is a misuse of an unstarted process. */
class AttributeError extends ProcessError {}

function bootstrapError(): RuntimeError {
  return new RuntimeError(
    'An attempt has been made to start a new process before the current process has finished its ' +
    'bootstrapping phase. This probably means that the code that starts processes runs when the main ' +
    'module is imported by a child. Guard it: if (isMainProcess()) { … } — or move it out of the ' +
    'module that exports the task.');
}

// ---- current / parent ----------------------------------------------------------
class MainProcess extends Process {
  constructor() {
    super({ name: 'MainProcess' });
  }
}
builtinClasses.add(MainProcess);

let current: Process<any> | null = null;

function currentProcessOrNull(): Process<any> | null {
  return current;
}

/** The Process object of the running process. */
export function currentProcess(): Process<any> {
  if (!current) {
    counter = 0;
    const main = new MainProcess();
    Process._becomeCurrent(main, { identity: [], daemon: false, authkey: mainConfig.authkey, name: 'MainProcess' });
    counter = 0;
  }
  return current!;
}

/** The parent of this process as seen from a child (null in the main process). */
export interface ParentProcess {
  readonly name: string;
  readonly pid: number;
  isAlive(): boolean;
  /** Resolves when the parent has exited, or after `timeout` ms. */
  join(timeout?: number): Promise<void>;
}

let parent: ParentProcess | null = null;

export function parentProcess(): ParentProcess | null {
  return parent;
}

/** @internal Set by the child bootstrap. */
export function setParentProcess(p: ParentProcess | null): void {
  parent = p;
}

/** False in every child process, true in the process the program was started as. */
export function isMainProcess(): boolean {
  return parent === null;
}

/** @internal While true, starting a process is the fork-bomb mistake CPython guards against. */
export function setBootstrapping(on: boolean): void {
  bootstrapping = on;
}

function reapChildren(): void {
  for (const child of children) {
    if (child._popen()?.exitcode !== null) children.delete(child);
  }
}

/** Live children of this process. */
export function activeChildren(): Process<any>[] {
  reapChildren();
  return [...children];
}

/**
 * What CPython does at interpreter exit: terminate daemonic children, then
 * join the others. Children run this after their target returns.
 */
export async function joinChildrenAtExit(): Promise<void> {
  const live = activeChildren();
  for (const child of live) if (child.daemon) child.terminate();
  await Promise.all(live.map((child) => child._popen()?.exited));
}

export { mainConfig as _mainConfig };
