/**
 * BaseProxy: a process's handle on an object living in a manager server.
 * Every method call is a request to the server and returns a Promise.
 *
 * References are counted per client connection: one proxy object holds one
 * reference, released by `release()`, by garbage collection, or when its
 * process exits (the server drops a dead connection's references). A proxy
 * that travels (Process argument, Pipe, Queue, another proxy's argument)
 * keeps its referent alive on the way: the sender holds a reference under a
 * token until the receiver adopts it.
 */
import type { Address } from '../connection/address.js';
import { TypeError, ValueError } from '../errors.js';
import { currentProcess } from '../process/process.js';
import { registerReducer, type WireContext } from '../wire/codec.js';
import { withCaller } from './caller.js';
import { ManagerClient } from './client.js';
import { localServerFor, replyTarget, type LocalServer } from './local.js';
import { Op, ProxyMode, addressKey, type ProxyState } from './protocol.js';

interface Held {
  client: ManagerClient | null;
  local: LocalServer | null;
  id: number;
  cacheKey: string;
}

const rebuilt = new Map<string, WeakRef<BaseProxy>>();

function dropReference(held: Held): void {
  rebuilt.delete(held.cacheKey);
  if (held.local) {
    try { held.local.decref(held.local.localCaller, held.id); } catch { /* server gone */ }
  } else {
    held.client?.notify([Op.Decref, held.id, 1]);
  }
}

const collected = new FinalizationRegistry<Held>(dropReference);

/** @internal How a proxy is made (by the reducer; users never construct proxies). */
export interface ProxyInit {
  address: Address;
  id: number;
  typeid: string;
  kind: string | null;
  exposed: string[] | null;
  client: ManagerClient | null;
  local: LocalServer | null;
  cacheKey: string;
}

let tokenCounter = 0;
function newToken(): string {
  return `${process.pid}.${++tokenCounter}.${Date.now().toString(36)}`;
}

export class BaseProxy {
  readonly #init: ProxyInit;
  readonly #held: Held;
  #released = false;

  /** @internal */
  constructor(init: ProxyInit) {
    if (!init || typeof init.id !== 'number') throw new ValueError('proxies are made by a manager: use manager.dict(), manager.create(...)');
    this.#init = init;
    this.#held = { client: init.client, local: init.local, id: init.id, cacheKey: init.cacheKey };
    collected.register(this, this.#held, this.#held);
  }

  /** The manager's address. */
  get _address(): Address {
    return this.#init.address;
  }
  /** The referent's id in its manager. */
  get _id(): number {
    return this.#init.id;
  }
  get _typeid(): string {
    return this.#init.typeid;
  }
  /** Methods the referent exposes. */
  get _exposed(): readonly string[] | null {
    return this.#init.exposed;
  }

  /** Call the referent's method `name` with `args` (Python's _callmethod). */
  callMethod(name: string, args: unknown[] = []): Promise<any> {
    if (this.#released) return Promise.reject(new ValueError(`proxy of ${this.#init.typeid} ${this.#init.id} was released`));
    if (typeof name !== 'string') return Promise.reject(new TypeError(`method name must be a string, not ${typeof name}`));
    if (!Array.isArray(args)) return Promise.reject(new TypeError(`args must be an array, not ${args === null ? 'null' : typeof args}`));
    const local = this.#init.local;
    if (local) return this.#callLocal(local, name, args);
    return this.#init.client!.call(Op.Call, this.#init.id, name, args);
  }

  async #callLocal(local: LocalServer, name: string, args: unknown[]): Promise<unknown> {
    const obj = local.referent(this.#init.id) as Record<string, (...a: unknown[]) => unknown>;
    if (name === '#getvalue') return (obj as { _getvalue?: () => unknown })._getvalue?.() ?? obj;
    return withCaller(local.localCaller, () => obj[name]!(...args));
  }

  /** A copy of the referent (Python's _getvalue). */
  getValue(): Promise<any> {
    return this.callMethod('#getvalue');
  }

  /** Drop this proxy's reference now (the referent dies with its last reference). Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    collected.unregister(this.#held);
    dropReference(this.#held);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /** @internal The referent itself, when this proxy lives in its server's process. */
  _referent(): unknown {
    return this.#init.local?.referent(this.#init.id);
  }

  toString(): string {
    return `<${this.constructor.name} object, typeid '${this.#init.typeid}' at 0x${this.#init.id.toString(16)}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

// ---- proxy classes by kind -------------------------------------------------------
type ProxyClass = new (init: ProxyInit) => BaseProxy;
const kinds = new Map<string, ProxyClass>();
const autoClasses = new Map<string, ProxyClass>();

/** Make `cls` the proxy class of typeids whose proxy kind is `name`. */
export function registerProxyKind(name: string, cls: ProxyClass): void {
  kinds.set(name, cls);
}

const reserved = new Set(['then', 'constructor', ...Object.getOwnPropertyNames(BaseProxy.prototype)]);

/** A proxy class with one method per exposed name (Python's AutoProxy). */
export function autoProxyClass(exposed: readonly string[]): ProxyClass {
  const key = exposed.join(',');
  let cls = autoClasses.get(key);
  if (!cls) {
    cls = class AutoProxy extends BaseProxy {};
    for (const name of exposed) {
      if (reserved.has(name)) continue;
      Object.defineProperty(cls.prototype, name, {
        configurable: true,
        writable: true,
        value: function (this: BaseProxy, ...args: unknown[]) { return this.callMethod(name, args); },
      });
    }
    autoClasses.set(key, cls);
  }
  return cls;
}

function makeProxy(init: ProxyInit): BaseProxy {
  const cls = (init.kind && kinds.get(init.kind)) || autoProxyClass(init.exposed ?? []);
  return new cls(init);
}

// ---- travelling ------------------------------------------------------------------
/** A reference the server returns to a caller (create(), methodToTypeid): counted on the way out. */
export class ReturnedRef {
  constructor(readonly id: number) {}
}

let serverTokens = 0;

function ownedState(server: LocalServer, callerIncref: () => void, id: number, ctx: WireContext): ProxyState {
  callerIncref();
  const info = server.describe(id);
  return [server.address, id, info.typeid, info.kind, info.exposed, ProxyMode.Owned, `s${++serverTokens}`, spawnKey(ctx, null)];
}

function spawnKey(ctx: WireContext, client: ManagerClient | null): Buffer | null {
  if (ctx.purpose !== 'spawn') return null;
  return client?.authkey ?? currentProcess().authkey;
}

function reduceProxy(proxy: BaseProxy, ctx: WireContext): ProxyState {
  const address = proxy._address;
  const id = proxy._id;
  const reply = replyTarget();
  if (reply && addressKey(reply.server.address) === addressKey(address)) {
    return ownedState(reply.server, () => reply.server.incref(reply.caller, id), id, ctx);
  }
  const token = newToken();
  const server = localServerFor(address);
  let client: ManagerClient | null = null;
  if (server) {
    server.transfer(server.localCaller, id, token);
  } else {
    client = ManagerClient.for(address, null);
    client.notify([Op.Transfer, id, token]);
  }
  return [address, id, proxy._typeid, kindOf(proxy), proxy._exposed ? [...proxy._exposed] : null, ProxyMode.Adopt, token, spawnKey(ctx, client)];
}

function kindOf(proxy: BaseProxy): string | null {
  for (const [name, cls] of kinds) if (proxy.constructor === cls) return name;
  return null;
}

function rebuildProxy(state: ProxyState): BaseProxy {
  const [address, id, typeid, kind, exposed, mode, token, authkey] = state;
  const cacheKey = `${addressKey(address)}|${token}`;
  const cached = rebuilt.get(cacheKey)?.deref();
  if (cached) return cached;
  const server = localServerFor(address);
  let client: ManagerClient | null = null;
  if (server) {
    if (mode === ProxyMode.Adopt) server.adopt(server.localCaller, id, token);
    else server.incref(server.localCaller, id);
  } else {
    client = ManagerClient.for(address, authkey ? Buffer.from(authkey) : currentProcess().authkey);
    if (mode === ProxyMode.Adopt) client.notify([Op.Adopt, id, token]);
  }
  const proxy = makeProxy({ address, id, typeid, kind, exposed, client, local: server ?? null, cacheKey });
  rebuilt.set(cacheKey, new WeakRef(proxy));
  return proxy;
}

registerReducer(BaseProxy, 'BaseProxy', {
  reduce: reduceProxy,
  rebuild: rebuildProxy,
});

registerReducer(ReturnedRef, 'ManagerRef', {
  reduce(ref, ctx) {
    const reply = replyTarget();
    if (!reply) throw new ValueError('a manager reference can only be sent in a reply');
    return ownedState(reply.server, () => reply.server.incref(reply.caller, ref.id), ref.id, ctx);
  },
  rebuild: rebuildProxy as unknown as (state: unknown) => ReturnedRef,
});
