/**
 * What a thread child is given with its Worker (workerData), and how the
 * parent's TypeScript loader is made to work inside a Worker.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ThreadBoot {
  /** The thread's end of the control socketpair. */
  fd: number;
  /** Duplicates of the descriptors the boot message refers to, in order. */
  fds: number[];
  /** Modules to import before the thread's first TypeScript module. */
  loaders: string[];
  /** The process's Node.js flags (a Worker's own process.execArgv lacks the loader flags). */
  execArgv: string[];
}

const TSX_LOADER = /[\\/]tsx[\\/]dist[\\/](?:loader|esm[\\/]index)\.m?js$/;

/**
 * tsx's loader activated with `--import` registers hooks that a Worker on
 * Node 20 does not get. Its `tsx/esm/api` `register()`, called inside the
 * thread, does work: a tsx loader URL becomes thread-loader.js?api=<that API>.
 */
export function threadLoaders(deferred: readonly string[]): string[] {
  return deferred.map((url) => {
    if (!TSX_LOADER.test(url)) return url;
    const api = new URL(/esm[\\/]index\.m?js$/.test(url) ? './api/index.mjs' : './esm/api/index.mjs', url);
    if (!fs.existsSync(fileURLToPath(api))) return url;
    const loader = new URL('./thread-loader.js', import.meta.url);
    loader.searchParams.set('api', api.href);
    return loader.href;
  });
}
