/**
 * Contexts: one per start method, plus the default context whose start
 * method is fixed on first use (CPython's context.py semantics). Every
 * module-level name of the package is a member of a context; other modules
 * add their members with `defineContextMember`.
 */
import { availableParallelism } from 'node:os';
import { RuntimeError, ValueError } from './errors.js';
import { Pipe } from './connection.js';
import {
  Process, activeChildren, currentProcess, markBuiltinProcessClass, parentProcess,
} from './process/process.js';
import {
  ALL_START_METHODS, availableStartMethods, fixDefaultStartMethod, peekDefaultStartMethod,
  setDefaultStartMethod, type StartMethod,
} from './process/start-method.js';
import { setExecutable } from './process/spawn.js';
import { setForkserverPreload, startForkserver } from './process/forkserver.js';
import { getLogger, logToStderr } from './util.js';

export type { StartMethod };

export abstract class BaseContext {
  /** The start method of this context; for the default context, the method it resolves to. */
  abstract get name(): StartMethod;

  /** The Process class of this context (`new ctx.Process({ target })`). */
  abstract get Process(): typeof Process;

  /** A concrete context: `getContext()` on a concrete context returns itself. */
  getContext(method?: StartMethod | null): Context {
    if (method === undefined || method === null) return this as unknown as Context;
    return concreteContext(method);
  }

  getStartMethod(_opts?: { allowNone?: boolean }): StartMethod | null {
    return this.name;
  }

  setStartMethod(_method: StartMethod | null, _opts?: { force?: boolean }): void {
    throw new ValueError('cannot set start method of concrete context');
  }

  getAllStartMethods(): StartMethod[] {
    return availableStartMethods();
  }

  Pipe(duplex = true): ReturnType<typeof Pipe> {
    return Pipe(duplex);
  }

  cpuCount(): number {
    return availableParallelism();
  }

  currentProcess(): Process<any> {
    return currentProcess();
  }

  parentProcess(): ReturnType<typeof parentProcess> {
    return parentProcess();
  }

  activeChildren(): Process<any>[] {
    return activeChildren();
  }

  /** Needed by frozen Windows executables in Python; nothing to do on Node.js. */
  freezeSupport(): void {}

  getLogger(): ReturnType<typeof getLogger> {
    return getLogger();
  }

  logToStderr(level?: Parameters<typeof logToStderr>[0]): ReturnType<typeof logToStderr> {
    return logToStderr(level);
  }

  /** The Node.js binary children run (Python's set_executable). */
  setExecutable(path: string): void {
    setExecutable(path);
  }

  /** Connections already travel to children as Process arguments; kept for API parity. */
  allowConnectionPickling(): void {}

  /** Modules the forkserver imports before it forks its children (CPython's set_forkserver_preload). */
  setForkserverPreload(moduleNames: readonly string[]): void {
    setForkserverPreload(moduleNames);
  }
}

/** A context with all the members other modules add (see defineContextMember). */
export type Context = BaseContext;

class ConcreteContext extends BaseContext {
  readonly #method: StartMethod;
  readonly #Process: typeof Process;

  constructor(method: StartMethod) {
    super();
    this.#method = method;
    const displayName = `${method[0]!.toUpperCase()}${method.slice(1)}Process`.replace('Forkserver', 'ForkServer');
    const cls = { [displayName]: class extends Process {} }[displayName]!;
    cls._startMethod = method;
    cls._displayName = displayName;
    markBuiltinProcessClass(cls);
    this.#Process = cls as typeof Process;
  }

  get name(): StartMethod {
    return this.#method;
  }

  get Process(): typeof Process {
    return this.#Process;
  }
}

class DefaultContext extends BaseContext {
  get name(): StartMethod {
    return fixDefaultStartMethod();
  }

  get Process(): typeof Process {
    return Process;
  }

  override getContext(method?: StartMethod | null): Context {
    if (method === undefined || method === null) return concreteContext(fixDefaultStartMethod());
    return concreteContext(method);
  }

  override getStartMethod(opts: { allowNone?: boolean } = {}): StartMethod | null {
    const fixed = peekDefaultStartMethod();
    if (fixed === null && opts.allowNone) return null;
    return fixDefaultStartMethod();
  }

  override setStartMethod(method: StartMethod | null, opts: { force?: boolean } = {}): void {
    if (peekDefaultStartMethod() !== null && !opts.force) throw new RuntimeError('context has already been set');
    if (method === null && opts.force) {
      setDefaultStartMethod(null);
      return;
    }
    setDefaultStartMethod(concreteContext(method as StartMethod).name);
  }
}

const concrete = new Map<StartMethod, ConcreteContext>();

function concreteContext(method: StartMethod): ConcreteContext {
  if (!availableStartMethods().includes(method)) {
    if ((method as string) === 'fork') {
      throw new ValueError("cannot find context for 'fork': Node.js cannot fork a running runtime; use 'spawn' (or 'forkserver' for fast starts)");
    }
    if (ALL_START_METHODS.includes(method)) throw new ValueError(`${method} start method not available`);
    throw new ValueError(`cannot find context for ${quote(method)}`);
  }
  let ctx = concrete.get(method);
  if (!ctx) concrete.set(method, (ctx = new ConcreteContext(method)));
  // The forkserver starts at the context's first use.
  if (method === 'forkserver') startForkserver();
  return ctx;
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** The context behind the package's module-level names. */
export const defaultContext: Context = new DefaultContext();

/**
 * Add a member to every context: `factory(ctx)` runs once per context, on
 * first access. Used by the modules that bring Lock, Queue, Pool …
 */
export function defineContextMember<K extends string>(name: K, factory: (ctx: Context) => unknown): void {
  const cache = new WeakMap<object, unknown>();
  Object.defineProperty(BaseContext.prototype, name, {
    configurable: true,
    get(this: Context) {
      if (!cache.has(this)) cache.set(this, factory(this));
      return cache.get(this);
    },
  });
}
