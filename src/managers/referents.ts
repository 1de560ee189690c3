/**
 * The objects a SyncManager keeps in its server process for dict, list,
 * Namespace, Value and Array. Their public methods are what proxies call;
 * values cross the wire as copies, as in CPython.
 */
import { isDeepStrictEqual } from 'node:util';
import { TypeError, ValueError } from '../errors.js';
import { AttributeError, IndexError, KeyError } from './errors.js';

function repr(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'bigint' ? `${v}n` : String(v);
}

/** Entries of an object, a Map or an iterable of pairs. */
export function entriesOf(init: unknown): Iterable<[unknown, unknown]> {
  if (init === null || init === undefined) return [];
  if (init instanceof Map) return init.entries();
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') return init as Iterable<[unknown, unknown]>;
  if (typeof init === 'object') return Object.entries(init as object);
  throw new TypeError(`cannot convert ${typeof init} to a dict`);
}

/** dict (CPython's DictProxy targets), keyed like a Map: primitives by value. */
export class DictReferent {
  readonly map: Map<unknown, unknown>;
  constructor(init?: unknown) {
    this.map = new Map(entriesOf(init));
  }
  /** `d[k]` with one argument (KeyError when missing); `d.get(k, dflt)` with two. */
  get(key: unknown, ...dflt: unknown[]): unknown {
    if (this.map.has(key)) return this.map.get(key);
    if (dflt.length > 0) return dflt[0];
    throw new KeyError(repr(key));
  }
  set(key: unknown, value: unknown): void {
    this.map.set(key, value);
  }
  delete(key: unknown): void {
    if (!this.map.delete(key)) throw new KeyError(repr(key));
  }
  has(key: unknown): boolean {
    return this.map.has(key);
  }
  len(): number {
    return this.map.size;
  }
  keys(): unknown[] {
    return [...this.map.keys()];
  }
  values(): unknown[] {
    return [...this.map.values()];
  }
  items(): [unknown, unknown][] {
    return [...this.map.entries()];
  }
  update(other: unknown): void {
    for (const [k, v] of entriesOf(other)) this.map.set(k, v);
  }
  pop(key: unknown, ...dflt: unknown[]): unknown {
    if (this.map.has(key)) {
      const v = this.map.get(key);
      this.map.delete(key);
      return v;
    }
    if (dflt.length > 0) return dflt[0];
    throw new KeyError(repr(key));
  }
  popitem(): [unknown, unknown] {
    const last = [...this.map.entries()].pop();
    if (!last) throw new KeyError("'popitem(): dictionary is empty'");
    this.map.delete(last[0]);
    return last;
  }
  setdefault(key: unknown, value?: unknown): unknown {
    if (!this.map.has(key)) this.map.set(key, value ?? null);
    return this.map.get(key);
  }
  clear(): void {
    this.map.clear();
  }
  copy(): Map<unknown, unknown> {
    return new Map(this.map);
  }
  _getvalue(): Map<unknown, unknown> {
    return this.map;
  }
}

function pyCompare(a: unknown, b: unknown): number {
  const ta = typeof a === 'bigint' ? 'number' : typeof a;
  const tb = typeof b === 'bigint' ? 'number' : typeof b;
  if (ta !== tb || (ta !== 'number' && ta !== 'string' && ta !== 'boolean')) {
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const c = pyCompare(a[i], b[i]);
        if (c !== 0) return c;
      }
      return a.length - b.length;
    }
    throw new TypeError(`'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'Array';
  return typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v;
}

/** list (CPython's ListProxy targets), with Python's negative indices and errors. */
export class ListReferent {
  readonly items: unknown[];
  constructor(init?: Iterable<unknown> | null) {
    this.items = init === null || init === undefined ? [] : [...init];
  }
  #index(i: number, what: string): number {
    if (!Number.isInteger(i)) throw new TypeError('list indices must be integers');
    const j = i < 0 ? i + this.items.length : i;
    if (j < 0 || j >= this.items.length) throw new IndexError(what);
    return j;
  }
  get(i: number): unknown {
    return this.items[this.#index(i, 'list index out of range')];
  }
  set(i: number, value: unknown): void {
    this.items[this.#index(i, 'list assignment index out of range')] = value;
  }
  delete(i: number): void {
    this.items.splice(this.#index(i, 'list assignment index out of range'), 1);
  }
  len(): number {
    return this.items.length;
  }
  toArray(): unknown[] {
    return this.items;
  }
  slice(start?: number, end?: number): unknown[] {
    return this.items.slice(start, end);
  }
  has(x: unknown): boolean {
    return this.items.some((y) => isDeepStrictEqual(x, y));
  }
  append(x: unknown): void {
    this.items.push(x);
  }
  extend(xs: Iterable<unknown>): void {
    for (const x of xs) this.items.push(x);
  }
  insert(i: number, x: unknown): void {
    const n = this.items.length;
    const j = i < 0 ? Math.max(0, i + n) : Math.min(i, n);
    this.items.splice(j, 0, x);
  }
  pop(i = -1): unknown {
    if (this.items.length === 0) throw new IndexError('pop from empty list');
    const j = this.#index(i, 'pop index out of range');
    return this.items.splice(j, 1)[0];
  }
  remove(x: unknown): void {
    const i = this.items.findIndex((y) => isDeepStrictEqual(x, y));
    if (i < 0) throw new ValueError('list.remove(x): x not in list');
    this.items.splice(i, 1);
  }
  index(x: unknown, start = 0, end = this.items.length): number {
    for (let i = start; i < Math.min(end, this.items.length); i++) if (isDeepStrictEqual(x, this.items[i])) return i;
    throw new ValueError(`${repr(x)} is not in list`);
  }
  count(x: unknown): number {
    return this.items.filter((y) => isDeepStrictEqual(x, y)).length;
  }
  reverse(): void {
    this.items.reverse();
  }
  /** Python's ordering (numbers numerically, strings by code point); `{ reverse: true }` for descending. */
  sort(opts: { reverse?: boolean } = {}): void {
    const sorted = [...this.items].sort(pyCompare);
    if (opts.reverse) sorted.reverse();
    this.items.splice(0, this.items.length, ...sorted);
  }
  _getvalue(): unknown[] {
    return this.items;
  }
}

/** Namespace: named attributes. */
export class NamespaceReferent {
  readonly attrs: Map<string, unknown>;
  constructor(init?: Record<string, unknown> | null) {
    this.attrs = new Map(Object.entries(init ?? {}));
  }
  get(name: string): unknown {
    if (!this.attrs.has(name)) throw new AttributeError(`'Namespace' object has no attribute '${name}'`);
    return this.attrs.get(name);
  }
  set(name: string, value: unknown): void {
    this.attrs.set(name, value);
  }
  delete(name: string): void {
    if (!this.attrs.delete(name)) throw new AttributeError(name);
  }
  has(name: string): boolean {
    return this.attrs.has(name);
  }
  toObject(): Record<string, unknown> {
    return Object.fromEntries(this.attrs);
  }
  _getvalue(): Record<string, unknown> {
    return this.toObject();
  }
}

type Coerce = (v: unknown) => unknown;

function intOf(bits: number, signed: boolean): Coerce {
  const View = signed
    ? { 8: Int8Array, 16: Int16Array, 32: Int32Array }[bits as 8]
    : { 8: Uint8Array, 16: Uint16Array, 32: Uint32Array }[bits as 8];
  const cell = new View(1);
  return (v) => {
    if (typeof v !== 'number' && typeof v !== 'bigint' && typeof v !== 'boolean') throw new TypeError(`an integer is required (got ${typeName(v)})`);
    cell[0] = Number(v);
    return cell[0];
  };
}

const typecodes: Record<string, Coerce> = {
  b: intOf(8, true), B: intOf(8, false), h: intOf(16, true), H: intOf(16, false),
  i: intOf(32, true), I: intOf(32, false),
  l: (v) => Math.trunc(Number(v)), L: (v) => Math.trunc(Number(v)), q: (v) => Math.trunc(Number(v)), Q: (v) => Math.trunc(Number(v)),
  f: (v) => Math.fround(Number(v)), d: (v) => Number(v),
  c: (v) => String(v).slice(0, 1), u: (v) => String(v).slice(0, 1),
};

function coercer(typecode: unknown): Coerce {
  if (typeof typecode !== 'string') return (v) => v;
  const c = typecodes[typecode];
  if (!c) throw new ValueError(`bad typecode (must be one of ${Object.keys(typecodes).join(', ')})`);
  return c;
}

/** Value(typecode, value): a single managed value (get/set). */
export class ValueReferent {
  readonly #coerce: Coerce;
  #value: unknown;
  constructor(typecode: unknown, value?: unknown) {
    this.#coerce = typeof typecode === 'string' && typecode.length === 1 ? coercer(typecode) : (v) => v;
    this.#value = value === undefined ? null : this.#coerce(value);
  }
  get(): unknown {
    return this.#value;
  }
  set(value: unknown): void {
    this.#value = this.#coerce(value);
  }
  _getvalue(): unknown {
    return this.#value;
  }
}

/** Array(typecode, sequence): fixed-length array of one element type (len/get/set). */
export class ArrayReferent {
  readonly #coerce: Coerce;
  readonly items: unknown[];
  constructor(typecode: string, sequence: Iterable<unknown> | number) {
    this.#coerce = coercer(typecode);
    this.items = typeof sequence === 'number'
      ? new Array(sequence).fill(this.#coerce(typecode === 'c' || typecode === 'u' ? '\0' : 0))
      : [...sequence].map(this.#coerce);
  }
  #index(i: number): number {
    const j = i < 0 ? i + this.items.length : i;
    if (!Number.isInteger(j) || j < 0 || j >= this.items.length) throw new IndexError('array index out of range');
    return j;
  }
  len(): number {
    return this.items.length;
  }
  get(i: number): unknown {
    return this.items[this.#index(i)];
  }
  set(i: number, value: unknown): void {
    this.items[this.#index(i)] = this.#coerce(value);
  }
  toArray(): unknown[] {
    return this.items;
  }
  _getvalue(): unknown[] {
    return this.items;
  }
}
