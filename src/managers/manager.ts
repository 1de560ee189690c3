/**
 * BaseManager, SyncManager and Manager(): a server process holding shared
 * objects, and proxies to them (CPython's multiprocessing.managers).
 */
import { Pipe } from '../connection.js';
import type { Address, Family } from '../connection/address.js';
import { defineContextMember, type Context } from '../context.js';
import { ProcessError, TypeError, ValueError } from '../errors.js';
import type { PoolOptions } from '../pool/options.js';
import { atChildExit } from '../process/exit-hooks.js';
import { Process, currentProcess, isMainProcess } from '../process/process.js';
import { describeTask, taskModule, type Task } from '../task.js';
import { builtinTypes } from './builtins.js';
import { ManagerClient } from './client.js';
import { Op, type TypeInfo } from './protocol.js';
import {
  ArrayProxy, BarrierProxy, ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy, LockProxy,
  NamespaceProxy, PoolProxy, QueueProxy, SemaphoreProxy, ValueProxy, type Proxied,
} from './proxies.js';
import { _setManagerModules, _wirePoolOptions } from './pool-proxy.js';
import type { BaseProxy } from './proxy.js';
import { Server, type ServerConfig, type WireType } from './server.js';

const serverModule = taskModule<typeof import('./server.js')>(new URL('./server.js', import.meta.url));

interface RegistryEntry {
  typeid: string;
  factory: Function | null;
  builtin: string | null;
  exposed: string[] | null;
  methodToTypeid: Record<string, string> | null;
  proxyKind: string | null;
}

export interface RegisterOptions {
  /** Methods proxies may call (default: the referent's public methods, those not starting with '_'). */
  exposed?: readonly string[] | null;
  /** Methods whose result stays in the server and comes back as a proxy of that typeid. */
  methodToTypeid?: Record<string, string> | null;
  /** Add a `manager[typeid](...args)` method (default true). */
  createMethod?: boolean;
}

export interface ManagerOptions {
  /** Where the server listens: 'host:port' / [host, port] (TCP) or a Unix socket path. Default: a fresh Unix socket. */
  address?: Address | null;
  family?: Family | null;
  /** Default: currentProcess().authkey. */
  authkey?: Uint8Array | null;
  /** Accepted for API parity: the wire codec is always billiard's. */
  serializer?: 'v8' | 'json';
  /** Context whose Process runs the server. */
  ctx?: Context;
  /** ms to wait for the server to exit at shutdown before terminating it (CPython: 1 s). */
  shutdownTimeout?: number;
  /** Modules exporting registered factories, for the server process to import. */
  modules?: string[];
}

type State = 'initial' | 'started' | 'connected' | 'shutdown';
let managerCounter = 0;

export class BaseManager {
  static _registry: Map<string, RegistryEntry> = new Map();

  /**
   * Register a type the server can hold: `factory` is a class (called with
   * `new`) or a function, exported from a module so the server process can
   * import it; null for typeids only returned through `methodToTypeid`.
   */
  static register(typeid: string, factory: Task | (abstract new (...args: any[]) => unknown) | null = null, opts: RegisterOptions = {}): void {
    if (typeof typeid !== 'string' || typeid.length === 0) throw new TypeError('typeid must be a non-empty string');
    if (factory !== null && typeof factory !== 'function') throw new TypeError('factory must be a class or a function');
    if (!Object.prototype.hasOwnProperty.call(this, '_registry')) this._registry = new Map(this._registry);
    this._registry.set(typeid, {
      typeid, factory, builtin: null, exposed: opts.exposed ? [...opts.exposed] : null,
      methodToTypeid: opts.methodToTypeid ?? null, proxyKind: null,
    });
    if (opts.createMethod !== false && factory !== null) {
      Object.defineProperty(this.prototype, typeid, {
        configurable: true, writable: true,
        value: function (this: BaseManager, ...args: unknown[]) { return this.create(typeid, ...args); },
      });
    }
  }

  /** @internal */
  static _registerBuiltin(typeid: string): void {
    if (!Object.prototype.hasOwnProperty.call(this, '_registry')) this._registry = new Map(this._registry);
    const builtin = builtinTypes[typeid]!;
    this._registry.set(typeid, {
      typeid, factory: null, builtin: typeid, exposed: builtin.exposed ?? null,
      methodToTypeid: builtin.methodToTypeid ?? null, proxyKind: builtin.kind,
    });
  }

  #state: State = 'initial';
  #address: Address | null;
  readonly #family: Family | null;
  readonly #authkey: Buffer;
  readonly #ctx: Context | undefined;
  readonly #shutdownTimeout: number;
  readonly #modules: string[];
  #process: Process | null = null;
  #client: ManagerClient | null = null;
  #unhookExit: (() => void) | null = null;

  constructor(opts: ManagerOptions = {}) {
    this.#address = opts.address ?? null;
    this.#family = opts.family ?? null;
    if (opts.authkey !== undefined && opts.authkey !== null && !(opts.authkey instanceof Uint8Array)) {
      throw new TypeError('authkey should be a byte string');
    }
    this.#authkey = opts.authkey ? Buffer.from(opts.authkey) : currentProcess().authkey;
    if (opts.serializer !== undefined && opts.serializer !== 'v8' && opts.serializer !== 'json') {
      throw new ValueError(`unknown serializer ${String(opts.serializer)}`);
    }
    this.#ctx = opts.ctx;
    this.#shutdownTimeout = opts.shutdownTimeout ?? 1000;
    this.#modules = opts.modules ?? [];
  }

  /** The server's address (null before start() when none was given). */
  get address(): Address | null {
    return this.#address;
  }

  /** The server process (after start()). */
  get process(): Process | null {
    return this.#process;
  }

  #registry(): Map<string, RegistryEntry> {
    return (this.constructor as typeof BaseManager)._registry;
  }

  /** Start the server process and connect to it. Misuse throws synchronously (ProcessError). */
  start(initializer?: Task | null, initargs: unknown[] = []): Promise<void> {
    if (this.#state === 'started') throw new ProcessError('Already started server');
    if (this.#state === 'shutdown') throw new ProcessError('Manager has shut down');
    if (this.#state === 'connected') throw new ProcessError('Already connected to a server');
    if (initializer !== undefined && initializer !== null && typeof initializer !== 'function') {
      throw new TypeError('initializer must be a callable');
    }
    const types: WireType[] = [...this.#registry().values()].map((e) => ({
      typeid: e.typeid,
      builtin: e.builtin,
      factory: e.factory ? describeTask(e.factory, this.#modules) : null,
      exposed: e.exposed,
      methodToTypeid: e.methodToTypeid,
      proxyKind: e.proxyKind,
    }));
    const config: ServerConfig = {
      address: this.#address, family: this.#family, authkey: this.#authkey, types,
      initializer: initializer ? describeTask(initializer, this.#modules) : null, initargs,
    };
    this.#state = 'started';
    return this.#launch(config).catch((err) => {
      this.#state = 'initial';
      throw err;
    });
  }

  async #launch(config: ServerConfig): Promise<void> {
    const [reader, writer] = Pipe(false);
    const ProcessClass = this.#ctx?.Process ?? Process;
    const proc = new ProcessClass({
      target: serverModule.runManagerServer,
      args: [writer, config],
      // Not a daemonic Process: the server may have children of its own (a manager's Pool has workers).
      daemon: false,
      name: `${this.constructor.name}-${++managerCounter}`,
      modules: this.#modules,
    });
    try {
      proc.start();
    } finally {
      writer.close();
    }
    // Daemonic for its owner all the same: it never keeps the owner alive and is terminated
    // when the owner exits (its own children die with it).
    proc._popen()?.setDaemon(true);
    this.#process = proc;
    // A child process joins its non-daemonic children when its target returns: end the server first
    // (CPython's manager finalizer, at exit).
    this.#unhookExit = isMainProcess() ? null : atChildExit(() => this.#terminateAtExit());
    let first: { address?: Address; error?: Error } | null;
    try {
      first = await reader.recv();
    } catch {
      first = null;
    } finally {
      reader.close();
    }
    if (!first || first.error) {
      this.#unhookExit?.();
      this.#unhookExit = null;
      await proc.join(this.#shutdownTimeout);
      if (proc.exitcode === null) proc.kill();
      await proc.join();
      throw first?.error ?? new ProcessError(`manager process exited with code ${proc.exitcode} before it was ready`);
    }
    this.#address = first.address!;
    _setManagerModules(this.#address, this.#modules);
    const client = ManagerClient.for(this.#address, this.#authkey);
    this.#client = client;
    await client.connect();
  }

  /** Connect to a running server at `address` (a remote manager). */
  async connect(): Promise<void> {
    if (this.#state !== 'initial') throw new ProcessError(this.#state === 'shutdown' ? 'Manager has shut down' : 'Already connected to a server');
    if (this.#address === null) throw new ValueError('address type of None unrecognized');
    const client = ManagerClient.for(this.#address, this.#authkey);
    try {
      await client.connect();
    } catch (err) {
      ManagerClient.drop(this.#address);
      throw err;
    }
    this.#client = client;
    this.#state = 'connected';
    _setManagerModules(this.#address, this.#modules);
  }

  /** A server for this manager's registry, to run in this process: `await m.getServer().serveForever()`. */
  getServer(): Server {
    if (this.#state !== 'initial') throw new ProcessError(this.#state === 'shutdown' ? 'Manager has shut down' : 'Already started server');
    const types: TypeInfo[] = [...this.#registry().values()].map((e) => {
      const builtin = e.builtin ? builtinTypes[e.builtin] : undefined;
      return {
        typeid: e.typeid,
        factory: (builtin ? builtin.cls : e.factory) as TypeInfo['factory'],
        exposed: e.exposed, methodToTypeid: e.methodToTypeid,
        proxyKind: builtin ? builtin.kind : e.proxyKind,
      };
    });
    return new Server(types, this.#address, this.#authkey, { family: this.#family });
  }

  /** Create a `typeid` object in the server; resolves with its proxy. */
  create<T = unknown>(typeid: string, ...args: unknown[]): Promise<Proxied<T>> {
    return this.#usable().call(Op.Create, typeid, args) as Promise<Proxied<T>>;
  }

  /** @internal */
  _create<P extends BaseProxy>(typeid: string, args: unknown[]): Promise<P> {
    return this.#usable().call(Op.Create, typeid, args) as Promise<P>;
  }

  #usable(): ManagerClient {
    if (this.#state === 'shutdown') throw new ProcessError('Manager has shut down');
    if (!this.#client) throw new ValueError('address type of None unrecognized');
    return this.#client;
  }

  /** Number of live objects in the server and their reference counts (CPython's _debug_info). */
  async info(): Promise<{ objects: number; refs: Record<number, { typeid: string; refs: number }> }> {
    return this.#usable().call(Op.Info) as Promise<{ objects: number; refs: Record<number, { typeid: string; refs: number }> }>;
  }

  /** @internal The `modules` option (to name the tasks given to the manager's Pool). */
  _modules(): readonly string[] {
    return this.#modules;
  }

  #terminateAtExit(): void {
    this.#unhookExit = null;
    const proc = this.#process;
    if (proc && proc.exitcode === null) proc.terminate();
  }

  /** Stop the server process (asked nicely, then SIGTERM, then SIGKILL); resolves when it has exited. */
  async shutdown(): Promise<void> {
    const state = this.#state;
    this.#state = 'shutdown';
    this.#unhookExit?.();
    this.#unhookExit = null;
    if (state === 'connected' && this.#address !== null) ManagerClient.drop(this.#address);
    if (state !== 'started') return;
    const proc = this.#process;
    const client = this.#client;
    this.#client = null;
    if (client) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.call(Op.Shutdown).catch(() => undefined),
        new Promise((resolve) => { timer = setTimeout(resolve, this.#shutdownTimeout); }),
      ]);
      clearTimeout(timer);
    }
    if (this.#address !== null) ManagerClient.drop(this.#address);
    if (!proc) return;
    await proc.join(this.#shutdownTimeout);
    if (proc.exitcode === null) {
      proc.terminate();
      await proc.join(this.#shutdownTimeout);
    }
    if (proc.exitcode === null) {
      proc.kill();
      await proc.join();
    }
  }

  /** Wait for the server process to exit. */
  async join(timeout?: number): Promise<void> {
    await this.#process?.join(timeout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** A manager for the usual shared types: dict, list, Namespace, Queue, Lock … */
export class SyncManager extends BaseManager {
  dict<K = string, V = any>(init?: Record<string, V> | Map<K, V> | Iterable<readonly [K, V]>): Promise<DictProxy<K, V>> {
    return this._create('dict', init === undefined ? [] : [init instanceof Map ? init : isIterable(init) ? [...init] : init]);
  }
  list<T = any>(init?: Iterable<T>): Promise<ListProxy<T>> {
    return this._create('list', init === undefined ? [] : [[...init]]);
  }
  Namespace<T extends Record<string, unknown> = Record<string, any>>(init?: Partial<T>): Promise<NamespaceProxy<T>> {
    return this._create('Namespace', init === undefined ? [] : [init]);
  }
  Value<T = any>(typecode: string | null, value?: T): Promise<ValueProxy<T>> {
    return this._create('Value', [typecode, value]);
  }
  Array<T = number>(typecode: string, sequence: Iterable<T> | number): Promise<ArrayProxy<T>> {
    return this._create('Array', [typecode, typeof sequence === 'number' ? sequence : [...sequence]]);
  }
  Queue<T = any>(maxsize = 0): Promise<QueueProxy<T>> {
    return this._create('Queue', [maxsize]);
  }
  JoinableQueue<T = any>(maxsize = 0): Promise<JoinableQueueProxy<T>> {
    return this._create('JoinableQueue', [maxsize]);
  }
  Lock(): Promise<LockProxy> {
    return this._create('Lock', []);
  }
  RLock(): Promise<LockProxy> {
    return this._create('RLock', []);
  }
  Semaphore(value = 1): Promise<SemaphoreProxy> {
    return this._create('Semaphore', [value]);
  }
  BoundedSemaphore(value = 1): Promise<SemaphoreProxy> {
    return this._create('BoundedSemaphore', [value]);
  }
  /** A Condition over `lock` (a Lock or RLock proxy of this manager) or a new RLock. */
  Condition(lock?: LockProxy | null): Promise<ConditionProxy> {
    return this._create('Condition', lock ? [lock] : []);
  }
  Event(): Promise<EventProxy> {
    return this._create('Event', []);
  }
  Barrier(parties: number, action?: null, timeout?: number | null): Promise<BarrierProxy> {
    return this._create('Barrier', [parties, action ?? null, timeout ?? null]);
  }
  /**
   * A Pool in the manager's process (its workers are the server's children).
   * Hook options (onProcessUp …) and `semaphore` cannot be given; the
   * initializer travels as tasks do.
   */
  Pool(opts: number | PoolOptions = {}): Promise<PoolProxy> {
    return this._create('Pool', [_wirePoolOptions(opts, this._modules())]);
  }
}
for (const typeid of Object.keys(builtinTypes)) SyncManager._registerBuiltin(typeid);

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** A started SyncManager (Python's multiprocessing.Manager()). */
export async function Manager(opts: ManagerOptions = {}): Promise<SyncManager> {
  const manager = new SyncManager(opts);
  await manager.start();
  return manager;
}

declare module '../context.js' {
  interface BaseContext {
    /** A started SyncManager whose server runs with this context's start method. */
    Manager(opts?: ManagerOptions): Promise<SyncManager>;
  }
}
defineContextMember('Manager', (ctx) => (opts: ManagerOptions = {}) => Manager({ ctx, ...opts }));
