/**
 * The Node.js flags a child inherits: the parent's, less those that make no
 * sense twice (test runner, inspector, watch mode, eval). A TypeScript loader
 * (tsx) is not passed as a flag: it costs a child 100–200 ms to start, so the
 * child activates it only when it first imports a TypeScript module.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const dropWithValue = new Set(['-e', '--eval', '-p', '--print']);
const dropPrefixes = ['--test', '--inspect', '--debug', '--watch', '--experimental-test', '--cpu-prof', '--heap-prof', '--prof'];
const loaderFlags = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

interface Split {
  argv: string[];
  /** Module URLs to import in the child before its first TypeScript module. */
  deferred: string[];
}

let cached: Split | undefined;

function split(): Split {
  if (cached) return cached;
  const argv: string[] = [];
  const deferred: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (dropWithValue.has(arg)) { i++; continue; }
    if (dropPrefixes.some((p) => arg.startsWith(p))) continue;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (loaderFlags.has(flag!)) {
      const value = inline ?? args[++i] ?? '';
      const tsx = tsxModule(value);
      if (tsx === 'preflight') continue;
      if (tsx) { deferred.push(tsx); continue; }
      argv.push(flag!, value);
      continue;
    }
    argv.push(arg);
  }
  return (cached = { argv, deferred });
}

/** 'preflight' for tsx's preflight script, the loader's URL for tsx's loader, else undefined. */
function tsxModule(spec: string): string | 'preflight' | undefined {
  if (/[\\/]tsx[\\/]dist[\\/]preflight\.c?js$/.test(spec)) return 'preflight';
  if (/[\\/]tsx[\\/]dist[\\/](loader|esm[\\/]index)\.m?js$/.test(spec)) return spec.startsWith('file:') ? spec : pathToFileURL(spec).href;
  if (spec === 'tsx' || spec === 'tsx/esm') {
    try {
      return pathToFileURL(createRequire(path.join(process.cwd(), 'noop.js')).resolve(spec)).href;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function childExecArgv(): string[] {
  return split().argv;
}

export function deferredLoaders(): string[] {
  return split().deferred;
}

export const LOADER_ARG = '--billiard-loader=';
