/**
 * Which classes survive a trip to another process with their prototype:
 * the built-in errors, billiard's own errors, classes registered with
 * `registerClass`, and classes exported by a module the library has loaded
 * (the main module, `modules`, `registerModule`, task modules).
 *
 * A class found in a module travels as `url#exportName`, so the receiver can
 * import that module when it has not loaded it yet.
 */
import * as errors from '../errors.js';

export type AnyClass = abstract new (...args: any[]) => unknown;

const byKey = new Map<string, AnyClass>();
const keyOf = new Map<AnyClass, string>();

const builtinErrors: AnyClass[] = [
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError,
];
for (const cls of builtinErrors) remember(cls.name, cls);
for (const value of Object.values(errors)) {
  if (typeof value === 'function') remember(`billiard:${value.name}`, value as AnyClass);
}

function remember(key: string, cls: AnyClass): void {
  byKey.set(key, cls);
  if (!keyOf.has(cls)) keyOf.set(cls, key);
}

/**
 * Make instances of `cls` keep their class when sent to another process.
 * Call it on both sides, best in the module that defines the class, so that
 * every process importing that module registers it too.
 */
export function rememberClass(cls: AnyClass): void {
  if (typeof cls !== 'function' || !cls.name) {
    throw new errors.TypeError('registerClass() needs a named class');
  }
  byKey.set(cls.name, cls);
  keyOf.set(cls, cls.name);
}

/** Note the classes a loaded module exports, so their instances keep their class. */
export function rememberModuleClasses(url: string, namespace: Record<string, unknown>): AnyClass[] {
  const found: AnyClass[] = [];
  for (const [name, value] of Object.entries(namespace)) {
    if (typeof value === 'function' && isClass(value)) {
      const key = `${url}#${name}`;
      byKey.set(key, value as AnyClass);
      if (!keyOf.has(value as AnyClass)) keyOf.set(value as AnyClass, key);
      found.push(value as AnyClass);
    }
  }
  return found;
}

function isClass(fn: Function): boolean {
  return fn.prototype !== undefined && (Function.prototype.toString.call(fn).startsWith('class') ||
    fn.prototype instanceof Error);
}

/** The key a class travels under, or undefined when no receiver could rebuild it. */
export function classKey(cls: AnyClass): string | undefined {
  return keyOf.get(cls);
}

export function classByKey(key: string): AnyClass | undefined {
  return byKey.get(key);
}

/** The module to import to learn a class key, if the key names one. */
export function moduleOfKey(key: string): string | undefined {
  const hash = key.lastIndexOf('#');
  return hash > 0 ? key.slice(0, hash) : undefined;
}
