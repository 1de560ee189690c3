/**
 * The modules billiard knows: the main module, modules passed in `modules`
 * options, and modules given to `registerModule`. Tasks and classes exported
 * by them travel by reference. Knowing a module never awaits its evaluation
 * (a main module blocked in top-level await on a child would deadlock):
 * exports are matched on loaded namespaces when available, else on source.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { TypeError } from './errors.js';
import { noteModuleClasses, setClassLocator } from './wire/codec.js';
import { silenceTestRunner, usesTestRunner } from './test-runner-guard.js';

const known = new Set<string>();
const namespaces = new Map<string, Record<string, unknown>>();
const loading = new Map<string, Promise<Record<string, unknown>>>();
const sources = new Map<string, string | null>();
let mainUrl: string | undefined = guessMainUrl();
/** True while mainUrl is this process's own entry point (not a parent's, as in a child). */
let ownMain = mainUrl !== undefined;

function guessMainUrl(): string | undefined {
  const script = process.argv[1];
  if (!script) return undefined;
  try {
    return pathToFileURL(path.resolve(script)).href;
  } catch {
    return undefined;
  }
}

export function getMainModuleUrl(): string | undefined {
  return mainUrl;
}

/** A child learns its parent's main module (Python's __mp_main__). */
export function setMainModuleUrl(url: string | undefined): void {
  mainUrl = url;
  ownMain = false;
}

/** Normalize what users pass (file URL, URL object, path) to a file URL string. */
export function toModuleUrl(spec: string | URL): string {
  if (spec instanceof URL) return spec.href;
  if (typeof spec !== 'string') throw new TypeError(`a module must be a URL or a path string, not ${spec === null ? 'null' : typeof spec}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) return spec;
  return pathToFileURL(path.resolve(spec)).href;
}

/**
 * Let functions and classes exported by `url` travel by reference. Call it
 * as `registerModule(import.meta.url)`; it is safe in the same tick as
 * `start()` and from a module still evaluating.
 */
export function registerModule(url: string | URL): void {
  const href = toModuleUrl(url);
  known.add(href);
  // Learn the namespace once the module has finished evaluating, never waiting on it.
  void loadModule(href).catch(() => undefined);
}

/** A child learns the modules its parent knew (found by source, loaded only when used). */
export function addKnownModules(urls: readonly string[]): void {
  for (const url of urls) known.add(toModuleUrl(url));
}

// A class exported (by name) by a known module that this process has not loaded.
setClassLocator((cls) => {
  if (!cls.name) return undefined;
  for (const url of knownModules()) {
    if (namespaces.has(url)) continue;
    const name = exportedNameInSource(url, cls.name);
    if (name) return `${url}#${name}`;
  }
  return undefined;
});

export function knownModules(extra: readonly string[] = []): string[] {
  const all = new Set<string>();
  if (mainUrl) all.add(mainUrl);
  for (const url of known) all.add(url);
  for (const url of extra) all.add(toModuleUrl(url));
  return [...all];
}

/**
 * Import what a received message names but this process has not loaded
 * ('' is the main module). A module of this process that may still be
 * evaluating (its own main module, a registered one: think top-level await on
 * a child) is only taken if it has finished: waiting on it would deadlock.
 */
export function importForDecode(url: string): Promise<unknown> {
  const target = url || mainUrl;
  if (!target) return Promise.resolve(undefined);
  const loaded = loadModule(target);
  if (target === mainUrl && ownMain) {
    // Our own main module, maybe blocked in top-level await on this very message: only if done.
    return Promise.race([loaded, new Promise((resolve) => setImmediate(resolve))]);
  }
  // Any other module loads quickly unless it is an ancestor of a module still evaluating.
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([loaded, new Promise((resolve) => { timer = setTimeout(resolve, 1000); })])
    .finally(() => clearTimeout(timer));
}

let pendingLoaders: string[] = [];
let activating: Promise<unknown> | null = null;

/** @internal A child activates these loaders (tsx) before its first TypeScript import. */
export function deferLoaders(urls: string[]): void {
  pendingLoaders = urls;
}

const typescript = /\.(c|m)?tsx?$/;

function importWithLoaders(url: string): Promise<unknown> {
  // A child importing its parent's main module that is a node:test file must not re-run the tests.
  if (!ownMain && url === mainUrl && usesTestRunner(sourceOf(url))) silenceTestRunner();
  if (pendingLoaders.length === 0 || !typescript.test(new URL(url).pathname)) return import(url);
  activating ??= pendingLoaders.reduce<Promise<unknown>>((p, loader) => p.then(() => import(loader)), Promise.resolve());
  return activating.then(() => import(url));
}

/** Import a module once, and note the classes it exports. */
export function loadModule(url: string): Promise<Record<string, unknown>> {
  let promise = loading.get(url);
  if (!promise) {
    promise = importWithLoaders(url).then((ns) => ns as Record<string, unknown>).then((ns) => {
      namespaces.set(url, ns);
      noteModuleClasses(url, ns);
      const cjs = ns.default;
      if (cjs && typeof cjs === 'object') noteModuleClasses(url, cjs as Record<string, unknown>);
      return ns;
    });
    loading.set(url, promise);
  }
  return promise;
}

export function loadedNamespace(url: string): Record<string, unknown> | undefined {
  return namespaces.get(url);
}

/** The export of `url` named `name`, looking into a CommonJS default export too. */
export function exportOf(ns: Record<string, unknown>, name: string): unknown {
  if (name in ns) return ns[name];
  const cjs = ns.default;
  if (cjs && (typeof cjs === 'object' || typeof cjs === 'function') && name in cjs) {
    return (cjs as Record<string, unknown>)[name];
  }
  return undefined;
}

/** Where `value` is exported, by identity on loaded modules, then by name in sources. */
export function findExport(value: Function, candidates: readonly string[]): { url: string; name: string } | undefined {
  for (const url of candidates) {
    const ns = namespaces.get(url);
    if (!ns) continue;
    for (const [name, exported] of Object.entries(ns)) if (exported === value) return { url, name };
    const cjs = ns.default;
    if (cjs && typeof cjs === 'object') {
      for (const [name, exported] of Object.entries(cjs)) if (exported === value) return { url, name };
    }
  }
  if (!value.name) return undefined;
  for (const url of candidates) {
    if (namespaces.has(url)) continue;
    const name = exportedNameInSource(url, value.name);
    if (name) return { url, name };
  }
  return undefined;
}

function sourceOf(url: string): string | null {
  let source = sources.get(url);
  if (source === undefined) {
    try {
      source = url.startsWith('file:') ? fs.readFileSync(fileURLToPath(url), 'utf8') : null;
    } catch {
      source = null;
    }
    sources.set(url, source);
  }
  return source;
}

const escape = (s: string) => s.replace(/[$]/g, '\\$');

/** The name under which the module's source exports a local binding called `local`. */
export function exportedNameInSource(url: string, local: string): string | undefined {
  const source = sourceOf(url);
  if (!source) return undefined;
  const id = escape(local);
  if (local === 'default' && /\bexport\s+default\b/.test(source)) return 'default';
  const direct = new RegExp(
    `\\bexport\\s+(?:declare\\s+)?(?:async\\s+)?(?:function\\s*\\*?\\s*|class\\s+|(?:const|let|var)\\s+)${id}\\b`);
  if (direct.test(source)) return local;
  if (new RegExp(`\\bexport\\s+default\\s+(?:async\\s+)?(?:function\\s*\\*?\\s*|class\\s+)?${id}\\b`).test(source)) return 'default';
  for (const match of source.matchAll(/\bexport\s*(?:type\s*)?\{([^}]*)\}/g)) {
    for (const entry of match[1]!.split(',')) {
      const [from, to] = entry.trim().split(/\s+as\s+/);
      if (from === local) return (to ?? from)!.trim();
    }
  }
  if (new RegExp(`\\b(?:module\\.)?exports\\.${id}\\s*=`).test(source)) return local;
  const cjsObject = /\bmodule\.exports\s*=\s*\{([^}]*)\}/.exec(source);
  if (cjsObject) {
    for (const entry of cjsObject[1]!.split(',')) {
      const [key, value] = entry.split(':').map((s) => s.trim());
      if ((value ?? key) === local && key) return key;
    }
  }
  if (new RegExp(`\\bmodule\\.exports\\s*=\\s*${id}\\b`).test(source)) return 'default';
  return undefined;
}
