/**
 * Task resolution: how a function given in this process is named so that
 * another process can find it (by module reference, typed handle, or source),
 * and how the receiving side turns that name back into a function.
 */
import { TaskSerializationError } from './errors.js';
import { exportOf, findExport, getMainModuleUrl, knownModules, loadModule, toModuleUrl } from './modules.js';

/** Anything that can run in another process. */
export type Task<A extends unknown[] = any[], R = unknown> = (...args: A) => R;

/** How a task travels. */
export type TaskSpec =
  | { kind: 'ref'; url: string; name: string }
  | { kind: 'source'; source: string; name: string };

const taskRef = Symbol.for('billiard.taskRef');

interface TaskRefHolder {
  [taskRef]?: { url: string; name: string };
}

/**
 * A typed handle on a module's exports, for sending its functions by
 * reference without importing the module here:
 * `const t = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url))`.
 */
export function taskModule<T extends object>(url: string | URL): T {
  const href = toModuleUrl(url);
  const cache = new Map<string, Function>();
  return new Proxy({} as T, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let handle = cache.get(prop);
      if (!handle) {
        const name = prop;
        // Calling a handle in this process imports the module and runs the export.
        handle = async (...args: unknown[]) => {
          const fn = exportOf(await loadModule(href), name);
          if (typeof fn !== 'function') throw new TaskSerializationError(`${href} has no exported function ${name}`);
          return fn(...args);
        };
        Object.defineProperty(handle, 'name', { value: name });
        (handle as TaskRefHolder)[taskRef] = { url: href, name };
        cache.set(prop, handle);
      }
      return handle;
    },
  });
}

/** Name `fn` for another process. Throws TaskSerializationError when it cannot travel. */
export function describeTask(fn: unknown, modules: readonly string[] = []): TaskSpec {
  if (typeof fn !== 'function') {
    throw new TaskSerializationError(`a task must be a function, not ${fn === null ? 'null' : typeof fn}`);
  }
  const ref = (fn as TaskRefHolder)[taskRef];
  if (ref) return { kind: 'ref', ...ref };
  const found = findExport(fn, knownModules(modules));
  if (found) return { kind: 'ref', ...found };
  return { kind: 'source', source: sourceOf(fn), name: fn.name };
}

const methodShorthand = /^(async\s+)?(\*\s*)?([A-Za-z_$][\w$]*)\s*\(/;

function sourceOf(fn: Function): string {
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    throw new TaskSerializationError(
      `cannot send ${fn.name || 'this function'}: it is native or bound; ${exportAdvice(fn)}`);
  }
  if (/^class\b/.test(text)) {
    throw new TaskSerializationError(`cannot send class ${fn.name} by source; ${exportAdvice(fn)}`);
  }
  if (/^(async\s+)?function\b/.test(text) || /^(async\s*)?(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>/.test(text)) return text;
  // Method shorthand `f(a) { … }` becomes `function f(a) { … }`.
  const method = methodShorthand.exec(text);
  if (method && !/^(get|set|static)\s/.test(text)) {
    return method[1] ? `async function ${text.slice(method[1].length)}` : `function ${text}`;
  }
  throw new TaskSerializationError(`cannot send ${fn.name || 'this function'} by source; ${exportAdvice(fn)}`);
}

export function exportAdvice(fn: { name?: string }): string {
  const name = fn.name || 'the function';
  return `export ${name} from a module and pass it from there: the main module, a module listed in ` +
    `\`modules\`, or one registered with registerModule(import.meta.url) (or use taskModule(url))`;
}

/** Turn a TaskSpec back into a function (receiving side). */
export async function resolveTask(spec: TaskSpec): Promise<Function> {
  if (spec.kind === 'ref') {
    const ns = await loadModule(spec.url);
    const fn = exportOf(ns, spec.name);
    if (typeof fn !== 'function') {
      throw new TaskSerializationError(`${spec.url} does not export a function named ${spec.name}`);
    }
    return fn;
  }
  return compileSource(spec);
}

const compiled = new Map<string, Function>();

function compileSource(spec: { source: string; name: string }): Function {
  let fn = compiled.get(spec.source);
  if (!fn) {
    ensureTranspilerHelpers();
    try {
      fn = (0, eval)(`(${spec.source})`) as Function;
    } catch (err) {
      throw new TaskSerializationError(
        `cannot rebuild ${spec.name || 'the task'} from its source (${(err as Error).message}); ${exportAdvice(spec)}`,
        undefined, { cause: err });
    }
    wrapped.set(fn, spec.name);
    compiled.set(spec.source, fn);
  }
  return fn;
}

/** Functions rebuilt from source, with the name they had where they were sent from. */
const wrapped = new WeakMap<Function, string>();

/**
 * A by-source function that used a name this process lacks fails with a
 * ReferenceError; say which name, and how to send the function instead.
 */
export function explainTaskError(fn: Function, err: unknown): unknown {
  if (!wrapped.has(fn) || !(err instanceof ReferenceError)) return err;
  const missing = /^([\w$]+) is not defined/.exec(err.message)?.[1];
  if (!missing || missing in globalThis) return err;
  return new TaskSerializationError(
    `task ${wrapped.get(fn) || fn.name || '(anonymous)'} was sent by source and uses '${missing}', which the child process ` +
    `does not have; ${exportAdvice(fn)}`, undefined, { cause: err });
}

/** Transpilers (esbuild under tsx) insert helper calls such as __name(fn, "f") into function sources. */
function ensureTranspilerHelpers(): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.__name !== 'function') {
    Object.defineProperty(g, '__name', {
      value: (target: Function, value: string) => Object.defineProperty(target, 'name', { value, configurable: true }),
      configurable: true, writable: true,
    });
  }
}

/** True when the spec needs the parent's main module. */
export function usesMainModule(spec: TaskSpec): boolean {
  return spec.kind === 'ref' && spec.url === getMainModuleUrl();
}
