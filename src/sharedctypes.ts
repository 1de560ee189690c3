/**
 * Value, Array (exported as SharedArray), RawValue, RawArray: ctypes-like
 * data in the shared heap (CPython's multiprocessing.sharedctypes).
 *
 * Type codes are CPython's: b B h H i I l L q Q f d c u (C sizes of Linux
 * x86-64/arm64: l/L/q/Q are 64-bit and read as bigint; c is a byte read as a
 * one-character string; u is a wchar_t, 4 bytes, read as a one-character
 * string), or a `Struct` of such fields. Integers wrap silently as in ctypes.
 * Memory is zero-filled.
 */
import { ProcessError, TypeError, ValueError } from './errors.js';
import { defineContextMember } from './context.js';
import { adopt, allocate, attach, refOf, type Block, type BlockRef } from './heap.js';
import { Lock, RLock } from './synchronize/semlock.js';
import { registerReducer } from './wire/codec.js';
import { LockHolder } from './synchronize/lock-holder.js';

/** Python's IndexError. */
export class IndexError extends ProcessError {}
/** Python's AttributeError. */
export class AttributeError extends ProcessError {}

export type SimpleTypeCode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd' | 'c' | 'u';
export type TypeCode = SimpleTypeCode | Struct;
/** The JS type of a C type's values: bigint for 64-bit integers, string for c and u, an object for a Struct. */
export type JsType<C> = C extends 'l' | 'L' | 'q' | 'Q' ? bigint
  : C extends 'c' | 'u' ? string
  : C extends Struct ? Record<string, any>
  : number;
/** A struct field: a type, or [type, length] for a fixed-length array. */
export type FieldType = TypeCode | [TypeCode, number];

type TypedArrayKind =
  | Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor;

interface Scalar {
  code: SimpleTypeCode;
  ctype: string;
  size: number;
  Kind: TypedArrayKind;
  get(dv: DataView, at: number): unknown;
  set(dv: DataView, at: number, v: unknown): void;
  /** Typed array element → JS value; JS value → element. */
  out(x: number | bigint): unknown;
  in(v: unknown): number | bigint;
}

const toNum = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(BigInt.asIntN(64, v));
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TypeError(`an integer or a float is required, not ${v === null ? 'null' : typeof v}`);
};
const toBig = (v: unknown): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new TypeError(`an integer is required, not ${v === null ? 'null' : typeof v}`);
};
const toChar = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.length === 1) return v.charCodeAt(0) & 0xff;
  if (v instanceof Uint8Array && v.length === 1) return v[0]!;
  throw new TypeError('one character bytes, bytearray or integer expected');
};
const toWchar = (v: unknown): number => {
  if (typeof v === 'string' && [...v].length === 1) return v.codePointAt(0)!;
  throw new TypeError(`unicode string expected instead of ${typeof v} instance`);
};

function scalar(code: SimpleTypeCode, ctype: string, Kind: TypedArrayKind, getter: keyof DataView, setter: keyof DataView,
  out: (x: any) => unknown, inp: (v: unknown) => number | bigint): Scalar {
  const size = Kind.BYTES_PER_ELEMENT;
  return {
    code, ctype, size, Kind, out, in: inp,
    get: (dv, at) => out((dv[getter] as any).call(dv, at, true)),
    set: (dv, at, v) => (dv[setter] as any).call(dv, at, inp(v), true),
  };
}

const id = (x: unknown) => x;
const SCALARS: Record<SimpleTypeCode, Scalar> = {
  b: scalar('b', 'c_byte', Int8Array, 'getInt8', 'setInt8', id, toNum),
  B: scalar('B', 'c_ubyte', Uint8Array, 'getUint8', 'setUint8', id, toNum),
  h: scalar('h', 'c_short', Int16Array, 'getInt16', 'setInt16', id, toNum),
  H: scalar('H', 'c_ushort', Uint16Array, 'getUint16', 'setUint16', id, toNum),
  i: scalar('i', 'c_int', Int32Array, 'getInt32', 'setInt32', id, toNum),
  I: scalar('I', 'c_uint', Uint32Array, 'getUint32', 'setUint32', id, toNum),
  l: scalar('l', 'c_long', BigInt64Array, 'getBigInt64', 'setBigInt64', id, toBig),
  L: scalar('L', 'c_ulong', BigUint64Array, 'getBigUint64', 'setBigUint64', id, toBig),
  q: scalar('q', 'c_longlong', BigInt64Array, 'getBigInt64', 'setBigInt64', id, toBig),
  Q: scalar('Q', 'c_ulonglong', BigUint64Array, 'getBigUint64', 'setBigUint64', id, toBig),
  f: scalar('f', 'c_float', Float32Array, 'getFloat32', 'setFloat32', id, toNum),
  d: scalar('d', 'c_double', Float64Array, 'getFloat64', 'setFloat64', id, toNum),
  c: scalar('c', 'c_char', Uint8Array, 'getUint8', 'setUint8', (x: number) => String.fromCharCode(x), toChar),
  u: scalar('u', 'c_wchar', Uint32Array, 'getUint32', 'setUint32', (x: number) => String.fromCodePoint(x), toWchar),
};

function scalarOf(code: unknown): Scalar | undefined {
  return typeof code === 'string' && Object.hasOwn(SCALARS, code) ? SCALARS[code as SimpleTypeCode] : undefined;
}

interface Field {
  name: string;
  type: Scalar | Struct;
  offset: number;
  /** Array length, or undefined for a single value. */
  length?: number;
}

type StructDescription = [string, string | StructDescription, number | null][];

/** A C struct type (ctypes.Structure): `new Struct({ x: 'd', y: 'd', tag: ['c', 8] })`. */
export class Struct {
  readonly fields: readonly Field[];
  readonly size: number;
  readonly align: number;

  constructor(fields: Record<string, FieldType> | [string, FieldType][]) {
    const list = Array.isArray(fields) ? fields : Object.entries(fields);
    let offset = 0;
    let align = 1;
    const out: Field[] = [];
    for (const [name, spec] of list) {
      const [t, length] = Array.isArray(spec) ? spec : [spec, undefined];
      const type = t instanceof Struct ? t : scalarOf(t);
      if (!type) throw new TypeError('this type has no size');
      if (length !== undefined && (!Number.isInteger(length) || length < 0)) throw new ValueError('array length must be a non-negative integer');
      const a = type instanceof Struct ? type.align : type.size;
      offset = Math.ceil(offset / a) * a;
      out.push({ name, type, offset, length });
      offset += type.size * (length ?? 1);
      align = Math.max(align, a);
    }
    this.fields = out;
    this.align = align;
    this.size = Math.ceil(offset / align) * align;
  }

  /** @internal */
  read(dv: DataView, at: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    for (const f of this.fields) obj[f.name] = readField(f, dv, at);
    return obj;
  }

  /** @internal */
  write(dv: DataView, at: number, value: unknown): void {
    if (value === null || typeof value !== 'object') throw new TypeError('a struct value must be an object');
    for (const f of this.fields) {
      if (f.name in value) writeField(f, dv, at, (value as Record<string, unknown>)[f.name]);
    }
  }

  /** @internal plain data, to travel */
  describe(): StructDescription {
    return this.fields.map((f) => [f.name, f.type instanceof Struct ? f.type.describe() : f.type.code, f.length ?? null]);
  }

  /** @internal */
  static fromDescription(d: StructDescription): Struct {
    return new Struct(d.map(([name, t, n]) => {
      const type = typeof t === 'string' ? (t as SimpleTypeCode) : Struct.fromDescription(t);
      return [name, n === null ? type : [type, n]] as [string, FieldType];
    }));
  }
}

function readOne(type: Scalar | Struct, dv: DataView, at: number): unknown {
  return type instanceof Struct ? type.read(dv, at) : type.get(dv, at);
}
function writeOne(type: Scalar | Struct, dv: DataView, at: number, v: unknown): void {
  if (type instanceof Struct) type.write(dv, at, v);
  else type.set(dv, at, v);
}
function readField(f: Field, dv: DataView, base: number): unknown {
  if (f.length === undefined) return readOne(f.type, dv, base + f.offset);
  return Array.from({ length: f.length }, (_, k) => readOne(f.type, dv, base + f.offset + k * f.type.size));
}
function writeField(f: Field, dv: DataView, base: number, v: unknown): void {
  if (f.length === undefined) return writeOne(f.type, dv, base + f.offset, v);
  const items = Array.from(v as ArrayLike<unknown>);
  if (items.length > f.length) throw new ValueError('too many initializers');
  items.forEach((item, k) => writeOne(f.type, dv, base + f.offset + k * f.type.size, item));
}

type TypeDescription = string | StructDescription;
const describeType = (t: Scalar | Struct): TypeDescription => (t instanceof Struct ? t.describe() : t.code);
const typeFrom = (d: TypeDescription): Scalar | Struct => (typeof d === 'string' ? SCALARS[d as SimpleTypeCode] : Struct.fromDescription(d));

function resolveType(type: unknown): Scalar | Struct {
  if (type instanceof Struct) return type;
  const s = scalarOf(type);
  if (!s) throw new TypeError('this type has no size');
  return s;
}

function ctypeName(t: Scalar | Struct): string {
  return t instanceof Struct ? 'Struct' : t.ctype;
}

// ---- raw values ------------------------------------------------------------------

let attaching: Block | null = null;

/** A single C value in shared memory, without a lock (CPython's RawValue). */
export class CValue<T = any> {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _type: Scalar | Struct;
  readonly #dv: DataView;

  /** @internal use RawValue(type, init) */
  constructor(type: Scalar | Struct) {
    this._type = type;
    this._block = attaching ?? allocate(type.size, this);
    attaching = null;
    this.#dv = new DataView(this._block.arena.segment.buffer, this._block.offset, type.size);
    if (type instanceof Struct) defineFieldProperties(this, type, () => this.#dv, (f) => f());
  }

  get value(): T {
    return readOne(this._type, this.#dv, 0) as T;
  }
  set value(v: T) {
    writeOne(this._type, this.#dv, 0, v);
  }

  /** The type code, or the Struct. */
  get type(): TypeCode {
    return this._type instanceof Struct ? this._type : this._type.code;
  }

  toString(): string {
    const v = this.value;
    return `${ctypeName(this._type)}(${typeof v === 'object' ? JSON.stringify(v) : String(v)})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal */
  static _rebuild(type: Scalar | Struct, block: Block): CValue {
    attaching = block;
    try {
      return new CValue(type);
    } finally {
      attaching = null;
    }
  }
}

/** Struct fields as properties of the wrapper (CPython's synchronized Structure). */
function defineFieldProperties(target: object, type: Struct, dv: () => DataView, guard: <R>(fn: () => R) => R): void {
  for (const f of type.fields) {
    if (f.name in target) continue;
    Object.defineProperty(target, f.name, {
      enumerable: true,
      get: () => guard(() => readField(f, dv(), 0)),
      set: (v: unknown) => guard(() => writeField(f, dv(), 0, v)),
    });
  }
}

/** The typed-array classes RawArray returns: one per type code, so they can travel shared. */
const rawArrayClasses = new Map<SimpleTypeCode, any>();
const rawBlocks = new WeakMap<object, Block>();

function rawArrayClass(s: Scalar): any {
  let cls = rawArrayClasses.get(s.code);
  if (cls) return cls;
  const Kind = s.Kind as any;
  const name = `RawArray_${s.code}`;
  cls = {
    [name]: class extends Kind {
      static get [Symbol.species]() {
        return Kind;
      }
      /** The type code. */
      get typeCode(): SimpleTypeCode {
        return s.code;
      }
    },
  }[name];
  if (s.code === 'c') {
    Object.defineProperties(cls.prototype, {
      value: {
        get(this: Uint8Array) {
          const end = this.indexOf(0);
          return Buffer.from(this.buffer, this.byteOffset, end < 0 ? this.length : end).toString('latin1');
        },
        set(this: Uint8Array, v: string | Uint8Array) {
          const bytes = typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
          if (bytes.length > this.length) throw new ValueError('byte string too long');
          this.set(bytes);
          if (bytes.length < this.length) this[bytes.length] = 0;
        },
      },
      raw: {
        get(this: Uint8Array) {
          return Buffer.from(this.buffer, this.byteOffset, this.length);
        },
      },
    });
  } else if (s.code === 'u') {
    Object.defineProperty(cls.prototype, 'value', {
      get(this: Uint32Array) {
        let out = '';
        for (const c of this) {
          if (c === 0) break;
          out += String.fromCodePoint(c);
        }
        return out;
      },
      set(this: Uint32Array, v: string) {
        const cps = [...v].map((ch) => ch.codePointAt(0)!);
        if (cps.length > this.length) throw new ValueError('string too long');
        this.set(cps);
        if (cps.length < this.length) this[cps.length] = 0;
      },
    });
  }
  rawArrayClasses.set(s.code, cls);
  registerReducer(cls, `RawArray.${s.code}`, {
    reduce: (view: any) => {
      const block = rawBlocks.get(view);
      if (!block) throw new ValueError('this typed array is not a RawArray');
      return [s.code, refOf(block), view.length];
    },
    rebuild: ([code, ref, length]: [SimpleTypeCode, BlockRef, number]) => rawScalarArray(SCALARS[code], length, attach(ref)),
  });
  return cls;
}

function rawScalarArray(s: Scalar, length: number, block?: Block): any {
  const cls = rawArrayClass(s);
  const b = block ?? allocate(Math.max(1, length * s.size));
  const view = new cls(b.arena.segment.buffer, b.offset, length);
  rawBlocks.set(view, b);
  // The block is reused once the view (which every wrapper holds) is collected.
  if (!block) adopt(b, view);
  return view;
}

/** A fixed-length array of structs in shared memory (RawArray of a Struct). */
export class RawStructArray<T = Record<string, unknown>> {
  /** @internal */ readonly _block: Block;
  readonly type: Struct;
  readonly length: number;
  readonly #dv: DataView;

  /** @internal */
  constructor(type: Struct, length: number, block?: Block) {
    this.type = type;
    this.length = length;
    this._block = block ?? allocate(Math.max(1, type.size * length), this);
    this.#dv = new DataView(this._block.arena.segment.buffer, this._block.offset, Math.max(1, type.size * length));
  }

  get(i: number): T {
    return this.type.read(this.#dv, checkIndex(i, this.length) * this.type.size) as T;
  }
  set(i: number, v: T): void {
    this.type.write(this.#dv, checkIndex(i, this.length) * this.type.size, v);
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

function checkIndex(i: number, length: number): number {
  if (!Number.isInteger(i)) throw new TypeError('indices must be integers');
  const k = i < 0 ? i + length : i;
  if (k < 0 || k >= length) throw new IndexError('invalid index');
  return k;
}

/** What RawArray returns: a typed array over shared memory, or a RawStructArray. */
export type RawArrayView =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array | RawStructArray;

function sizeAndInit(sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>): [number, unknown[] | null] {
  if (typeof sizeOrInit === 'number') {
    if (!Number.isInteger(sizeOrInit) || sizeOrInit < 0) throw new ValueError('array size must be a non-negative integer');
    return [sizeOrInit, null];
  }
  if (typeof sizeOrInit === 'string') return [[...sizeOrInit].length, [...sizeOrInit]];
  if (sizeOrInit === null || typeof sizeOrInit !== 'object') throw new TypeError('size_or_initializer must be a number or a sequence');
  const items = Array.from(sizeOrInit as ArrayLike<unknown>);
  return [items.length, items];
}

function newRawArray(t: Scalar | Struct, sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>): any {
  const [length, init] = sizeAndInit(sizeOrInit);
  if (t instanceof Struct) {
    const arr = new RawStructArray(t, length);
    init?.forEach((v, k) => arr.set(k, v as Record<string, unknown>));
    return arr;
  }
  const view = rawScalarArray(t, length);
  if (init) for (let k = 0; k < length; k++) view[k] = t.in(init[k]);
  return view;
}

// ---- public factories ---------------------------------------------------------------

/** A zero-filled C value in shared memory, without a lock. */
export function RawValue<C extends TypeCode>(type: C, init?: JsType<C>): CValue<JsType<C>> {
  const v = new CValue<JsType<C>>(resolveType(type));
  if (init !== undefined) v.value = init;
  return v;
}

/** A zero-filled C array in shared memory, without a lock: a typed array (or RawStructArray for a Struct). */
export function RawArray<C extends TypeCode>(type: C, sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>): RawArrayView {
  return newRawArray(resolveType(type), sizeOrInit);
}

export interface SharedOptions {
  /** true (default): a new RLock; false: no lock (returns the raw object); or a Lock/RLock to use. */
  lock?: boolean | Lock | RLock | null;
}

type AnyLock = Lock | RLock;

function lockFrom(lock: unknown): AnyLock | null {
  if (lock === undefined || lock === null || lock === true) return new RLock();
  if (lock === false) return null;
  if (lock instanceof Lock || lock instanceof RLock) return lock;
  throw new AttributeError(`'${String(lock)}' has no method 'acquire'`);
}

abstract class SynchronizedBase extends LockHolder {
  getLock(): AnyLock {
    return this.heldLock;
  }
  protected locked<R>(fn: () => R): R {
    this.heldLock.acquireSync();
    try {
      return fn();
    } finally {
      this.heldLock.release();
    }
  }
}

/** A Value with its lock: `.value` get and set each take the lock (`v.value += 1` is not atomic: hold getLock()). */
export class Synchronized<T = any> extends SynchronizedBase {
  readonly #obj: CValue<T>;
  /** @internal */
  constructor(obj: CValue<T>, lock: AnyLock) {
    super(lock);
    this.#obj = obj;
    if (obj._type instanceof Struct) {
      const raw = obj as unknown as Record<string, unknown>;
      for (const f of obj._type.fields) {
        if (f.name in this) continue;
        Object.defineProperty(this, f.name, {
          enumerable: true,
          get: () => this.locked(() => raw[f.name]),
          set: (v: unknown) => this.locked(() => { raw[f.name] = v; }),
        });
      }
    }
  }
  get value(): T {
    return this.locked(() => this.#obj.value);
  }
  set value(v: T) {
    this.locked(() => { this.#obj.value = v; });
  }
  getObj(): CValue<T> {
    return this.#obj;
  }
  override toString(): string {
    return `<Synchronized wrapper for ${this.#obj.toString()}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** An Array with its lock; each get/set/slice takes it, `length` does not. */
export class SynchronizedArray<T = any> extends SynchronizedBase {
  readonly #obj: any;
  readonly #get: (k: number) => T;
  readonly #set: (k: number, v: T) => void;
  /** @internal */
  readonly _type: Scalar | Struct;

  /** @internal */
  constructor(obj: RawArrayView, type: Scalar | Struct, lock: AnyLock) {
    super(lock);
    this.#obj = obj;
    this._type = type;
    if (type instanceof Struct) {
      this.#get = (k) => (obj as RawStructArray).get(k) as T;
      this.#set = (k, v) => (obj as RawStructArray).set(k, v as Record<string, unknown>);
    } else {
      const view = obj as any;
      this.#get = (k) => type.out(view[k]) as T;
      this.#set = (k, v) => { view[k] = type.in(v); };
    }
  }

  get length(): number {
    return this.#obj.length;
  }
  get(i: number): T {
    const k = checkIndex(i, this.length);
    return this.locked(() => this.#get(k));
  }
  set(i: number, v: T): void {
    const k = checkIndex(i, this.length);
    this.locked(() => this.#set(k, v));
  }
  /** Elements start … end-1 (negative counts from the end), as a JS array. */
  slice(start?: number, end?: number): T[] {
    const [a, b] = sliceBounds(this.length, start, end);
    return this.locked(() => Array.from({ length: b - a }, (_, k) => this.#get(a + k)));
  }
  /** arr[start:end] = values; the lengths must match (ctypes' rule). */
  setSlice(start: number | undefined, end: number | undefined, values: ArrayLike<T> | Iterable<T>): void {
    const [a, b] = sliceBounds(this.length, start, end);
    const items = Array.from(values as ArrayLike<T>);
    if (items.length !== b - a) throw new ValueError('Can only assign sequence of same size');
    this.locked(() => items.forEach((v, k) => this.#set(a + k, v)));
  }
  toArray(): T[] {
    return this.slice();
  }
  *[Symbol.iterator](): Iterator<T> {
    for (const v of this.toArray()) yield v;
  }
  /** The raw array (a typed array over the shared memory, or a RawStructArray). */
  getObj(): RawArrayView {
    return this.#obj;
  }
  /** For 'c' and 'u' arrays: the string up to the first NUL. */
  get value(): string {
    if (!('value' in this.#obj)) throw new AttributeError(`'SynchronizedArray' of '${ctypeName(this._type)}' has no attribute 'value'`);
    return this.locked(() => this.#obj.value);
  }
  set value(v: string) {
    if (!('value' in this.#obj)) throw new AttributeError(`'SynchronizedArray' of '${ctypeName(this._type)}' has no attribute 'value'`);
    this.locked(() => { this.#obj.value = v; });
  }
  /** For 'c' arrays: all the bytes. */
  get raw(): Buffer {
    if (!('raw' in this.#obj)) throw new AttributeError("only 'c' arrays have 'raw'");
    return this.locked(() => Buffer.from(this.#obj.raw));
  }
  override toString(): string {
    return `<SynchronizedArray wrapper for ${ctypeName(this._type)}_Array_${this.length}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function sliceBounds(length: number, start?: number, end?: number): [number, number] {
  const norm = (x: number | undefined, dflt: number) => {
    if (x === undefined || x === null) return dflt;
    const k = x < 0 ? x + length : x;
    return Math.min(length, Math.max(0, Math.trunc(k)));
  };
  const a = norm(start, 0);
  return [a, Math.max(a, norm(end, length))];
}

/** A C value in shared memory guarded by a lock (an RLock unless `lock` says otherwise). */
export function Value<C extends TypeCode>(type: C, init?: JsType<C>, opts?: { lock?: true | Lock | RLock | null }): Synchronized<JsType<C>>;
export function Value<C extends TypeCode>(type: C, init: JsType<C> | undefined, opts: { lock: false }): CValue<JsType<C>>;
export function Value<C extends TypeCode>(type: C, init?: JsType<C>, opts: SharedOptions = {}): Synchronized<JsType<C>> | CValue<JsType<C>> {
  const lock = lockFrom(opts.lock);
  const raw = RawValue(type, init);
  return lock ? new Synchronized(raw, lock) : raw;
}
/** What RawValue returns. */
export type RawValue<T = any> = CValue<T>;

/** A C array in shared memory guarded by a lock; exported from the package as SharedArray. */
export function SharedArray<C extends TypeCode>(type: C, sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>, opts?: { lock?: true | Lock | RLock | null }): SynchronizedArray<JsType<C>>;
export function SharedArray(type: TypeCode, sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>, opts: { lock: false }): RawArrayView;
export function SharedArray<C extends TypeCode>(type: C, sizeOrInit: number | ArrayLike<unknown> | Iterable<unknown>, opts: SharedOptions = {}): SynchronizedArray<JsType<C>> | RawArrayView {
  const lock = lockFrom(opts.lock);
  const t = resolveType(type);
  const raw = newRawArray(t, sizeOrInit);
  return lock ? new SynchronizedArray<JsType<C>>(raw, t, lock) : raw;
}
/** The type of what SharedArray returns (with a lock). */
export type SharedArray<T = any> = SynchronizedArray<T>;


// ---- travel -------------------------------------------------------------------------
registerReducer(CValue, 'RawValue', {
  reduce: (v) => [describeType(v._type), refOf(v._block)],
  rebuild: ([t, ref]: [TypeDescription, BlockRef]) => CValue._rebuild(typeFrom(t), attach(ref)),
});
registerReducer(RawStructArray, 'RawStructArray', {
  reduce: (v) => [v.type.describe(), refOf(v._block), v.length],
  rebuild: ([d, ref, n]: [StructDescription, BlockRef, number]) => new RawStructArray(Struct.fromDescription(d), n, attach(ref)),
});
registerReducer(Synchronized, 'Synchronized', {
  reduce: (v) => [v.getObj(), v.getLock()],
  rebuild: ([obj, lock]: [CValue, AnyLock]) => new Synchronized(obj, lock),
});
registerReducer(SynchronizedArray, 'SynchronizedArray', {
  reduce: (v) => [v.getObj(), describeType(v._type), v.getLock()],
  rebuild: ([obj, t, lock]: [RawArrayView, TypeDescription, AnyLock]) => new SynchronizedArray(obj, typeFrom(t), lock),
});
for (const s of Object.values(SCALARS)) rawArrayClass(s);

/** Reducer tags of this module (for wire/reducer-modules). */
export const REDUCER_TAGS = ['RawValue', 'RawStructArray', 'Synchronized', 'SynchronizedArray', ...Object.keys(SCALARS).map((c) => `RawArray.${c}`)];

// ---- contexts -------------------------------------------------------------------------
declare module './context.js' {
  interface BaseContext {
    Value: typeof Value;
    Array: typeof SharedArray;
    SharedArray: typeof SharedArray;
    RawValue: typeof RawValue;
    RawArray: typeof RawArray;
  }
}
defineContextMember('Value', () => Value);
defineContextMember('Array', () => SharedArray);
defineContextMember('SharedArray', () => SharedArray);
defineContextMember('RawValue', () => RawValue);
defineContextMember('RawArray', () => RawArray);

