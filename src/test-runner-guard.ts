/**
 * A child that imports its parent's main module runs that module's top level,
 * as Python's spawn does. When the main module is a node:test file, its
 * test() calls would run the whole suite again inside every child (and each
 * test starting processes would start more: a fork bomb). So before a child
 * imports such a module, node:test is replaced by inert stand-ins: the
 * module's top level runs, its tests do not.
 */
import { createRequire, register } from 'node:module';

const STUB = `
const inert = () => {};
const handler = { get: (_t, key) => key === 'then' ? undefined : proxy, apply: () => undefined };
const proxy = new Proxy(inert, handler);
export const test = proxy, it = proxy, describe = proxy, suite = proxy, before = proxy, after = proxy,
  beforeEach = proxy, afterEach = proxy, mock = proxy, run = proxy, only = proxy, skip = proxy, todo = proxy;
export default proxy;
`;

const HOOKS = `
const stub = 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(STUB)});
export async function resolve(specifier, context, next) {
  if (specifier === 'node:test') return { url: stub, shortCircuit: true };
  return next(specifier, context);
}
`;

const testImport = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]node:test['"]/;

/** True when the source imports node:test. */
export function usesTestRunner(source: string | null): boolean {
  return source !== null && testImport.test(source);
}

let installed = false;

/** Make node:test inert in this process (ESM imports through a loader hook, require() by patching). */
export function silenceTestRunner(): void {
  if (installed) return;
  installed = true;
  register('data:text/javascript,' + encodeURIComponent(HOOKS));
  const Module = createRequire(import.meta.url)('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = Module._load;
  Module._load = function (request: string, ...rest: unknown[]) {
    if (request === 'node:test') return inertCjs;
    return load.call(this, request, ...rest);
  };
}

const inert: any = new Proxy(() => undefined, {
  get: (_t, key) => (key === 'then' ? undefined : inert),
  apply: () => undefined,
});
const inertCjs = inert;
