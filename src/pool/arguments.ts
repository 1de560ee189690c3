/**
 * What a Pool call is given, checked before anything is sent: CPython's
 * errors for a bad chunksize, a non-iterable, non-function callbacks, and
 * starmap items that are not argument lists.
 */
import { SerializationError, TypeError, ValueError } from '../errors.js';
import { isIterable, isSyncIterable, type Input } from './imap-feed.js';
import type { ResultCallbacks } from './results.js';

export function checkIterable(iterable: unknown): void {
  if (!isIterable(iterable)) {
    throw new SerializationError(`expected an iterable, not ${iterable === null ? 'null' : typeof iterable}`);
  }
}

/** `required`: imap's chunksize has a default already; map's may be left out. */
export function checkChunksize(chunksize: number | null | undefined, required: boolean): void {
  if (!required && (chunksize === undefined || chunksize === null)) return;
  if (!(Number.isInteger(chunksize) && chunksize! >= 1)) throw new ValueError(`Chunksize must be 1+, not ${chunksize}`);
}

export function checkArgs(args: unknown): void {
  if (args !== undefined && args !== null && !Array.isArray(args)) throw new TypeError(`args must be an array, not ${typeof args}`);
}

const CALLBACKS = ['callback', 'errorCallback', 'acceptCallback', 'timeoutCallback'] as const;

export function checkCallbacks(opts: ResultCallbacks<any>): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`options must be an object, not ${opts === null ? 'null' : typeof opts}`);
  for (const name of CALLBACKS) {
    const fn = opts[name];
    if (fn !== undefined && fn !== null && typeof fn !== 'function') throw new TypeError(`${name} must be a function, not ${typeof fn}`);
  }
}

/** starmap's items as argument arrays (CPython takes any iterable; anything else is a TypeError). */
export function starmapArgs<T>(items: T[]): unknown[][] | TypeError {
  const bad = items.findIndex((x) => !Array.isArray(x) && !isSyncIterable(x as Input<unknown>));
  if (bad >= 0) return new TypeError(`starmap items must be argument arrays; iterable[${bad}] is ${typeof items[bad]}`);
  return items.map((x) => (Array.isArray(x) ? x : [...(x as Iterable<unknown>)]));
}
