/**
 * Feeding an imap/imapUnordered from its input: read the (sync or async)
 * iterable in chunks, submit each chunk as one job, hold back while enough
 * work is outstanding, and spread each chunk's result over its positions.
 * An error raised by the input surfaces at its position, as it is.
 */
import type { IMapIterator } from './results.js';
import type { JobSink } from './job.js';

export type Input<T> = Iterable<T> | AsyncIterable<T>;

export interface FeedOptions<T> {
  iterable: Input<T>;
  chunksize: number;
  it: IMapIterator<unknown>;
  /** Jobs of this imap outstanding at once before reading more input. */
  limit: number;
  /** Submit one chunk (throws when it cannot be submitted). */
  submit(sink: JobSink, index: number, chunk: T[], firstPosition: number): void;
  /** True once the pool is terminated: stop reading. */
  terminated(): boolean;
  /** The error for chunks that can no longer run. */
  terminatedError(): Error;
}

export async function feedImap<T>(opts: FeedOptions<T>): Promise<void> {
  const { it, chunksize } = opts;
  const starts: number[] = [];
  let outstanding = 0;
  let wake: (() => void) | null = null;
  const sink: JobSink = {
    _accept() {},
    _timedOut() {},
    _set(chunk, ok, value) {
      const start = starts[chunk]!;
      const count = (starts[chunk + 1] ?? start + chunksize) - start;
      if (ok) (value as unknown[]).forEach((v, k) => it._set(start + k, true, v));
      else for (let k = 0; k < count; k++) it._set(start + k, false, value);
      outstanding--;
      wake?.();
    },
  };
  let position = 0;
  let chunk: T[] = [];
  const flush = () => {
    if (chunk.length === 0) return;
    const index = starts.length;
    const first = position - chunk.length;
    starts.push(first);
    outstanding++;
    try {
      if (opts.terminated()) throw opts.terminatedError();
      opts.submit(sink, index, chunk, first);
    } catch (err) {
      sink._set(index, false, err);
    }
    chunk = [];
  };
  const stopped = () => opts.terminated() || it._abandoned;
  try {
    for await (const item of opts.iterable as AsyncIterable<T>) {
      if (stopped()) break;
      chunk.push(item);
      position++;
      if (chunk.length >= chunksize) flush();
      while (outstanding >= opts.limit && !stopped()) await new Promise<void>((resolve) => { wake = resolve; });
      wake = null;
    }
    flush();
    starts.push(position);
    it._setLength(position);
  } catch (err) {
    flush();
    it._set(position, false, err);
    it._setLength(position + 1);
  }
}

/** A sync or async iterable, or a TypeError-like failure naming what was given. */
export function isIterable(iterable: unknown): iterable is Input<unknown> {
  return iterable !== null && iterable !== undefined &&
    (typeof (iterable as Iterable<unknown>)[Symbol.iterator] === 'function' ||
     typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
}

export function isSyncIterable<T>(iterable: Input<T>): iterable is Iterable<T> {
  return typeof (iterable as Iterable<T>)[Symbol.iterator] === 'function';
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
