/**
 * The one wire codec: msgpackr in structured-clone mode plus billiard's
 * extensions: errors keep their class and properties, registered classes keep
 * their prototype, library objects (Connection, Lock, Queue …) travel through
 * reducers, large binary views travel beside the message as raw attachments,
 * and what cannot travel (functions, symbols, promises, sockets) throws a
 * SerializationError that names its path inside the value.
 */
import { EventEmitter } from 'node:events';
// 'msgpackr/pack' is msgpackr without its stream classes and native string
// extractor: half the load time, which every child pays at boot.
import { Packr, Unpackr, addExtension } from 'msgpackr/pack';
import { SerializationError } from '../errors.js';
import { reducerModules } from './reducer-modules.js';
import { classByKey, classKey, moduleOfKey, rememberClass, rememberModuleClasses, type AnyClass } from './classes.js';

/** Views at least this large travel as raw attachment frames, not copied into the message. */
export const ATTACHMENT_THRESHOLD = 64 * 1024;

const EXT_ERROR = 0x01;
const EXT_INSTANCE = 0x02;
const EXT_REDUCED = 0x03;
const EXT_VIEW = 0x04;

/** What a reducer learns about the trip its object is about to make. */
export interface WireContext {
  /** 'spawn': arguments of a process being started; 'message': anything sent later. */
  readonly purpose: 'spawn' | 'message';
  /** File descriptors to hand to the receiver; reducers push and record the index. */
  readonly fds: number[];
}

/** Teaches the codec how to send a library object and rebuild it on the other side. */
export interface Reducer<T> {
  reduce(obj: T, ctx: WireContext): unknown;
  rebuild(state: any, ctx: WireContext): T;
}

interface EncodeState {
  ctx: WireContext;
  attachments: Uint8Array[] | null;
}
interface DecodeState {
  ctx: WireContext;
  attachments: Uint8Array[];
  missingModules: Set<string>;
}

let encoding: EncodeState | null = null;
let decoding: DecodeState | null = null;

const typedArrayKinds = [
  Buffer, Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
const TypedArray = Object.getPrototypeOf(Uint8Array) as AnyClass;

// ---- errors -------------------------------------------------------------
const errorSkip = new Set(['message', 'stack', 'cause']);
addExtension({
  Class: Error,
  type: EXT_ERROR,
  write(err: Error) {
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(err)) if (!errorSkip.has(key)) props[key] = (err as any)[key];
    if ((err as any).code !== undefined) props.code = (err as any).code;
    const cls = err.constructor as AnyClass;
    const key = classKey(cls) ?? locateClass?.(cls);
    const errors = err instanceof AggregateError ? err.errors : undefined;
    return [key ?? null, err.name, err.message, err.stack, 'cause' in err ? err.cause : undefined, props, errors];
  },
  read([key, name, message, stack, cause, props, aggregated]: any[]) {
    let cls = key ? classByKey(key) : undefined;
    if (key && !cls) {
      const url = moduleOfKey(key);
      decoding?.missingModules.add(url ?? '');
    }
    const err: any = Reflect.construct(Error, [message], (cls ?? Error) as Function);
    if (!cls && name && name !== 'Error') {
      Object.defineProperty(err, 'name', { value: name, configurable: true, writable: true });
    }
    Object.defineProperty(err, 'stack', { value: stack, configurable: true, writable: true });
    if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
    if (aggregated) Object.defineProperty(err, 'errors', { value: aggregated, configurable: true, writable: true });
    for (const k of Object.keys(props)) {
      try { err[k] = props[k]; } catch { Object.defineProperty(err, k, { value: props[k], configurable: true }); }
    }
    return err;
  },
} as any);

// Every extension of one type must carry the same reader: msgpackr keeps the
// last one registered for decoding.
function readReduced([tag, state]: [string, unknown]): unknown {
  const reducer = reducers.get(tag);
  if (reducer && decoding) return reducer.rebuild(state, decoding.ctx);
  const home = reducerModules[tag];
  if (home && decoding) {
    decoding.missingModules.add(new URL(home, import.meta.url).href);
    return null;
  }
  throw new SerializationError(`cannot rebuild a ${tag} here`);
}
const reducers = new Map<string, Reducer<any>>();
/** Classes with a reducer: findUnserializable must not blame them. */
const reducerClasses = new Set<Function>();

/**
 * Finds `url#export` for a class exported by a known module that this process
 * has not loaded (set by modules.ts, which knows the modules).
 */
let locateClass: ((cls: AnyClass) => string | undefined) | null = null;

export function setClassLocator(locator: (cls: AnyClass) => string | undefined): void {
  locateClass = locator;
}

// ---- what must not travel silently --------------------------------------
for (const [Class, what] of [
  [Promise, 'a Promise'], [WeakMap, 'a WeakMap'], [WeakSet, 'a WeakSet'], [WeakRef, 'a WeakRef'],
  [EventEmitter, 'an EventEmitter (socket, stream, process handle …)'],
] as const) {
  addExtension({
    Class, type: EXT_REDUCED, read: readReduced,
    write() { throw new SerializationError(`cannot serialize ${what}`); },
  } as any);
}

// ---- registered classes and library objects ----------------------------
const extendedClasses = new Set<AnyClass>();

/**
 * Make instances of `cls` keep their class when sent to another process.
 * Call it on both sides, best in the module that defines the class, so that
 * every process importing that module registers it too.
 */
export function registerClass(cls: AnyClass): void {
  rememberClass(cls);
  enableInstances(cls);
}

/** Note the classes a loaded module exports, so their instances keep their class. */
export function noteModuleClasses(url: string, namespace: Record<string, unknown>): void {
  for (const cls of rememberModuleClasses(url, namespace)) enableInstances(cls);
}

function enableInstances(cls: AnyClass): void {
  // A library object (a subclass too: ListProxy of BaseProxy) travels through its reducer, never as a plain instance.
  for (const reduced of reducerClasses) if (cls === reduced || cls.prototype instanceof reduced) return;
  if (extendedClasses.has(cls) || (cls as unknown) === Error || cls.prototype instanceof Error) return;
  extendedClasses.add(cls);
  addExtension({ Class: cls, type: EXT_INSTANCE, write: writeInstance, read: readInstance } as any);
}

function writeInstance(obj: object): unknown {
  const key = classKey(obj.constructor as AnyClass);
  return [key ?? null, { ...obj }];
}

/** Registered at load too: a process that never registered a class can still read instances. */
function readInstance([key, fields]: [string | null, Record<string, unknown>]): unknown {
  const found = key ? classByKey(key) : undefined;
  if (key && !found) decoding?.missingModules.add(moduleOfKey(key) ?? '');
  return Object.assign(Object.create(found ? found.prototype : Object.prototype), fields);
}
addExtension({ type: EXT_INSTANCE, read: readInstance } as any);

/** Teach the codec a library class (Connection, Lock, Queue …): one tag per class. */
export function registerReducer<T>(cls: abstract new (...args: any[]) => T, tag: string, reducer: Reducer<T>): void {
  if (reducers.has(tag)) throw new Error(`reducer ${tag} registered twice`);
  reducers.set(tag, reducer);
  reducerClasses.add(cls);
  addExtension({
    Class: cls,
    type: EXT_REDUCED,
    read: readReduced,
    write(obj: T) {
      if (!encoding) throw new SerializationError(`a ${tag} can only be sent by billiard`);
      return [tag, reducer.reduce(obj, encoding.ctx)];
    },
  } as any);
}

// ---- binary views: attachments for the large ones -----------------------
addExtension({
  Class: TypedArray,
  type: EXT_VIEW,
  pack(view: ArrayBufferView, allocate: (size: number) => { target: Buffer; position: number }) {
    const kind = typedArrayKinds.findIndex((k) => view.constructor === k);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const attachments = encoding?.attachments;
    if (attachments && bytes.byteLength >= ATTACHMENT_THRESHOLD) {
      const { target, position } = allocate(6 + 5);
      writeExtHeader(target, position, 5);
      target[position + 6] = 0x80 | kind;
      target.writeUInt32LE(attachments.push(bytes) - 1, position + 7);
      return;
    }
    const { target, position } = allocate(6 + 1 + bytes.byteLength);
    writeExtHeader(target, position, 1 + bytes.byteLength);
    target[position + 6] = kind;
    target.set(bytes, position + 7);
  },
  unpack(data: Uint8Array) {
    const tag = data[0]!;
    const Kind = typedArrayKinds[tag & 0x7f] ?? Uint8Array;
    let bytes: Uint8Array;
    if (tag & 0x80) {
      const index = Buffer.from(data.buffer, data.byteOffset + 1, 4).readUInt32LE(0);
      const attached = decoding?.attachments[index];
      if (!attached) throw new SerializationError('message refers to a missing attachment');
      bytes = attached;
    } else {
      bytes = data.subarray(1);
    }
    return viewOf(Kind, bytes, !(tag & 0x80));
  },
} as any);

function writeExtHeader(target: Uint8Array, position: number, length: number): void {
  target[position] = 0xc9; // ext 32
  new DataView(target.buffer, target.byteOffset).setUint32(position + 1, length);
  target[position + 5] = EXT_VIEW;
}

function viewOf(Kind: (typeof typedArrayKinds)[number], bytes: Uint8Array, mustCopy: boolean): ArrayBufferView {
  if (Kind === Buffer) return mustCopy ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const per = (Kind as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  // A copy starts at offset 0 of its own buffer, so it is always aligned.
  const source = !mustCopy && bytes.byteOffset % per === 0 ? bytes : new Uint8Array(bytes);
  return new (Kind as any)(source.buffer, source.byteOffset, source.byteLength / per);
}

// ---- the codec ------------------------------------------------------------
const packrOptions = {
  structuredClone: true,
  moreTypes: true,
  useBigIntExtension: true,
  writeFunction(fn: Function): never {
    throw new SerializationError(`cannot serialize function ${fn.name || '(anonymous)'}`);
  },
};

export interface Encoded {
  body: Buffer;
  attachments: Uint8Array[];
}

const defaultContext: WireContext = Object.freeze({ purpose: 'message', fds: [] as number[] }) as WireContext;

/**
 * One encoder/decoder. Messages are self-contained (no state carried between
 * them), so any reader may take any message: queues with many consumers work.
 */
export class Codec {
  private readonly packr = new Packr(packrOptions as any);
  private readonly unpackr = new Unpackr(packrOptions as any);

  /** Encode `value`; `root` names it in error paths ("args", "result" …). */
  encode(value: unknown, opts: { ctx?: WireContext; attachments?: boolean; root?: string } = {}): Encoded {
    const previous = encoding;
    const state: EncodeState = { ctx: opts.ctx ?? defaultContext, attachments: opts.attachments ? [] : null };
    encoding = state;
    try {
      const body = this.packr.pack(value);
      return { body, attachments: state.attachments ?? [] };
    } catch (err) {
      throw explain(err, value, opts.root ?? 'value');
    } finally {
      encoding = previous;
    }
  }

  /**
   * Decode a message. `missingModules` lists modules that export classes the
   * message names but this process has not loaded yet: import them and
   * decode again for full fidelity.
   */
  decode(body: Uint8Array, opts: { ctx?: WireContext; attachments?: Uint8Array[] } = {}): { value: unknown; missingModules: string[] } {
    const previous = decoding;
    const state: DecodeState = { ctx: opts.ctx ?? defaultContext, attachments: opts.attachments ?? [], missingModules: new Set() };
    decoding = state;
    try {
      const value = this.unpackr.unpack(body);
      return { value, missingModules: [...state.missingModules] };
    } catch (err) {
      if (err instanceof SerializationError) throw err;
      throw new SerializationError(`cannot decode message: ${(err as Error).message}`, undefined, { cause: err });
    } finally {
      decoding = previous;
    }
  }

  /** Decode, importing any module the message needs first (see decode). */
  async decodeAsync(body: Uint8Array, opts: { ctx?: WireContext; attachments?: Uint8Array[]; importModule: (url: string) => Promise<unknown> }): Promise<unknown> {
    const first = this.decode(body, opts);
    if (first.missingModules.length === 0) return first.value;
    const loaded = await Promise.allSettled(first.missingModules.map(opts.importModule));
    if (loaded.every((r) => r.status === 'rejected')) return first.value;
    return this.decode(body, opts).value;
  }
}

/** Turn a packing failure into a SerializationError naming where it happened. */
export function explain(err: unknown, value: unknown, root: string): SerializationError {
  if (err instanceof SerializationError && err.path) return err;
  let path: string | undefined;
  try {
    path = findUnserializable(value, root);
  } catch {
    // A getter or a Proxy trap that throws (likely what failed the packing too).
  }
  let reason: string;
  try {
    reason = err instanceof Error ? err.message : String(err);
  } catch {
    reason = 'cannot serialize value';
  }
  const where = path ? ` at ${path}` : '';
  return new SerializationError(`${reason.replace(/^cannot serialize/, 'cannot serialize')}${where}`, path, { cause: err });
}

const forbidden: [Function, string][] = [[Promise, 'a Promise'], [WeakMap, 'a WeakMap'], [WeakSet, 'a WeakSet'], [WeakRef, 'a WeakRef'], [EventEmitter, 'an EventEmitter']];

/** Path of the first value inside `value` that cannot be serialized, as `args[1].cb`. */
export function findUnserializable(value: unknown, root: string): string | undefined {
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: string): string | undefined => {
    if (typeof v === 'function' || typeof v === 'symbol') return path;
    if (v === null || typeof v !== 'object' || seen.has(v)) return undefined;
    seen.add(v);
    if (ArrayBuffer.isView(v)) return undefined;
    if (forbidden.some(([cls]) => v instanceof cls) && !hasReducer(v)) return path;
    if (v instanceof Map) {
      let i = 0;
      for (const [k, item] of v) {
        const found = walk(k, `${path}.keys()[${i}]`) ?? walk(item, `${path}.get(${describeKey(k)})`);
        if (found) return found;
        i++;
      }
      return undefined;
    }
    if (v instanceof Set) {
      let i = 0;
      for (const item of v) {
        const found = walk(item, `${path}.values()[${i++}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const found = walk(v[i], `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(v)) {
      const found = walk((v as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
      if (found) return found;
    }
    if (v instanceof Error && 'cause' in v) return walk(v.cause, `${path}.cause`);
    return undefined;
  };
  const path = walk(value, root);
  return path?.replace(/^\./, '');
}

function hasReducer(v: object): boolean {
  for (const cls of reducerClasses) if (v instanceof cls) return true;
  return false;
}

function describeKey(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** The shared codec for channels where any message may go to any reader. */
export const codec = new Codec();
