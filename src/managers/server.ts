/**
 * The manager server: keeps referents, counts references per client
 * connection, and serves method calls. It runs in the manager's own process
 * (SyncManager.start(), target `runManagerServer`) or in any process through
 * `manager.getServer().serveForever()`.
 */
import type { Connection } from '../connection.js';
import { Listener } from '../connection/listener.js';
import { removeTempDir, type Address, type Family } from '../connection/address.js';
import { resolveTask, type TaskSpec } from '../task.js';
import { getLogger } from '../util.js';
import { unlinkOwnArenas } from '../heap.js';
import { Caller, withCaller } from './caller.js';
import { builtinTypes, publicMethods } from './builtins.js';
import { registerLocalServer, unregisterLocalServer, whileReplying, type LocalServer } from './local.js';
import { Op, Status, type TypeInfo } from './protocol.js';
import { PoolReferent, terminateAllPools } from './pool-referent.js';
import { ReturnedRef } from './proxy.js';
import './proxies.js';

interface Entry {
  obj: unknown;
  typeid: string;
  refs: number;
  exposed: Set<string>;
  exposedList: string[];
  methodToTypeid: Record<string, string> | null;
  kind: string | null;
}

export interface ServerOptions {
  family?: Family | null;
  /** Listen queue (CPython 3.13: 128). */
  backlog?: number;
  handshakeTimeout?: number;
}

/** Why `msg` is not a well-formed request, or null. Checks the shape only, not ids or names. */
function malformed(msg: unknown): string | null {
  if (!Array.isArray(msg)) return `expected an array, not ${msg === null ? 'null' : Buffer.isBuffer(msg) ? 'raw bytes' : typeof msg}`;
  const [op, a, b, c, d] = msg as unknown[];
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);
  const str = (v: unknown) => typeof v === 'string';
  const list = (v: unknown) => v === undefined || v === null || Array.isArray(v);
  switch (op) {
    case Op.Call: return int(a) && int(b) && str(c) && list(d) ? null : 'Call is [0, callId, id, method, args]';
    case Op.Create: return int(a) && str(b) && list(c) ? null : 'Create is [1, callId, typeid, args]';
    case Op.Incref: return int(a) ? null : 'Incref is [2, id]';
    case Op.Decref: return int(a) && (b === undefined || b === null || int(b)) ? null : 'Decref is [3, id, n]';
    case Op.Transfer: return int(a) && str(b) ? null : 'Transfer is [4, id, token]';
    case Op.Adopt: return int(a) && str(b) ? null : 'Adopt is [5, id, token]';
    case Op.Shutdown: return int(a) ? null : 'Shutdown is [6, callId]';
    case Op.Info: return int(a) ? null : 'Info is [7, callId]';
    default: return `unknown request ${typeof op === 'number' ? op : typeof op}`;
  }
}

/** The call id to answer a request with (null when it has none). */
function callIdOf(msg: unknown): number | null {
  return Array.isArray(msg) && typeof msg[1] === 'number' ? msg[1] : null;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

export class Server implements LocalServer {
  readonly #listener: Listener;
  readonly #types = new Map<string, TypeInfo>();
  readonly #objects = new Map<number, Entry>();
  readonly #transfers = new Map<string, { id: number; caller: Caller }>();
  readonly #preAdopted = new Set<string>();
  readonly #conns = new Set<Connection>();
  readonly localCaller = new Caller(-1);
  #nextId = 1;
  #nextCaller = 1;
  #serving = false;
  #stopped = false;
  readonly #done: Promise<void>;
  #finish!: (err?: Error) => void;

  constructor(types: Iterable<TypeInfo>, address: Address | null, authkey: Buffer | null, opts: ServerOptions = {}) {
    for (const t of types) this.#types.set(t.typeid, t);
    this.#listener = new Listener(address, {
      family: opts.family ?? null, backlog: opts.backlog ?? 128, authkey, handshakeTimeout: opts.handshakeTimeout,
    });
    this.#done = new Promise<void>((resolve, reject) => {
      this.#finish = (err) => (err ? reject(err) : resolve());
    });
    this.#done.catch(() => undefined);
    registerLocalServer(this);
  }

  get address(): Address {
    return this.#listener.address;
  }

  /** Resolves once bound; rejects with the bind error. */
  async listening(): Promise<void> {
    await this.#listener.listening();
  }

  /** Serve until a client asks for shutdown or stop() is called. */
  serveForever(): Promise<void> {
    if (!this.#serving && !this.#stopped) {
      this.#serving = true;
      void this.#acceptLoop();
    }
    return this.#done;
  }

  async #acceptLoop(): Promise<void> {
    try {
      await this.#listener.listening();
    } catch (err) {
      this.stop(err as Error);
      return;
    }
    while (!this.#stopped) {
      let conn: Connection;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#stopped || this.#listener.closed) break;
        getLogger().info('manager: a client failed to connect: %s', (err as Error).message);
        continue;
      }
      void this.#serve(conn);
    }
  }

  /** Stop serving: close the listener and every client connection, drop every referent (its pools terminated). */
  stop(err?: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#listener.close();
    for (const c of this.#conns) c.close();
    this.#conns.clear();
    const ending: Promise<void>[] = [];
    for (const e of this.#objects.values()) if (e.obj instanceof PoolReferent) ending.push(e.obj.terminate());
    this.#objects.clear();
    unregisterLocalServer(this);
    // serveForever() resolves once the pools' workers are gone (terminate() never hangs).
    void Promise.allSettled(ending).then(() => this.#finish(err));
  }

  async #serve(conn: Connection): Promise<void> {
    const caller = new Caller(this.#nextCaller++);
    this.#conns.add(conn);
    try {
      for (;;) {
        const msg = await conn.recv<unknown>();
        try {
          this.#handle(conn, caller, msg);
        } catch (err) {
          // A request this server cannot make sense of is answered, never a reason to drop the client.
          this.#reply(conn, caller, callIdOf(msg), Status.Remote, `malformed request: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      if (!this.#stopped && !(err instanceof Error && err.name === 'EOFError')) {
        getLogger().info('manager: dropping a client: %s', (err as Error).message);
      }
    } finally {
      this.#conns.delete(conn);
      conn.close();
      this.#dropCaller(caller);
    }
  }

  #handle(conn: Connection, caller: Caller, msg: unknown): void {
    // Requests are arrays sent with send(). Anything else (a sendBytes() frame arrives as a
    // Buffer, whose bytes would otherwise read as an op: 6 = Shutdown) is refused.
    const bad = malformed(msg);
    if (bad) {
      this.#reply(conn, caller, callIdOf(msg), Status.Remote, `malformed request: ${bad}`);
      return;
    }
    if (!Array.isArray(msg)) return; // (malformed() has said so; this narrows the type)
    switch (msg[0] as Op) {
      case Op.Call:
        this.#call(conn, caller, msg[1] as number, msg[2] as number, msg[3] as string, (msg[4] as unknown[]) ?? []);
        break;
      case Op.Create:
        void this.#create(conn, caller, msg[1] as number, msg[2] as string, (msg[3] as unknown[]) ?? []);
        break;
      case Op.Incref:
        this.#quietly(() => this.incref(caller, msg[1] as number));
        break;
      case Op.Decref:
        this.decref(caller, msg[1] as number, (msg[2] as number) ?? 1);
        break;
      case Op.Transfer:
        this.#quietly(() => this.transfer(caller, msg[1] as number, msg[2] as string));
        break;
      case Op.Adopt:
        this.#quietly(() => this.adopt(caller, msg[1] as number, msg[2] as string));
        break;
      case Op.Shutdown:
        this.#reply(conn, caller, msg[1] as number, Status.Ok, null);
        conn.drain().catch(() => undefined).finally(() => this.stop());
        break;
      case Op.Info:
        this.#reply(conn, caller, msg[1] as number, Status.Ok, this.info());
        break;
    }
  }

  #quietly(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      getLogger().debug('manager: %s', (err as Error).message);
    }
  }

  /** Live referents: how many, and each one's typeid and reference count. */
  info(): { objects: number; refs: Record<number, { typeid: string; refs: number }> } {
    const refs: Record<number, { typeid: string; refs: number }> = {};
    for (const [id, e] of this.#objects) refs[id] = { typeid: e.typeid, refs: e.refs };
    return { objects: this.#objects.size, refs };
  }

  #call(conn: Connection, caller: Caller, callId: number, id: number, method: string, args: unknown[]): void {
    const entry = this.#objects.get(id);
    if (!entry) {
      this.#reply(conn, caller, callId, Status.Remote, `KeyError: no object with id ${id} in the manager (it was released)`);
      return;
    }
    let result: unknown;
    try {
      if (method === '#getvalue') {
        const obj = entry.obj as { _getvalue?: () => unknown };
        result = typeof obj._getvalue === 'function' ? obj._getvalue() : obj;
      } else if (!entry.exposed.has(method)) {
        this.#reply(conn, caller, callId, Status.Remote,
          `Traceback (most recent call last):\nAttributeError: method '${method}' of '${entry.typeid}' object is not in exposed=${JSON.stringify(entry.exposedList)}`);
        return;
      } else {
        const obj = entry.obj as Record<string, (...a: unknown[]) => unknown>;
        result = withCaller(caller, () => obj[method]!(...args));
      }
    } catch (err) {
      this.#replyError(conn, caller, callId, err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        (value) => this.#returned(conn, caller, callId, entry, method, value),
        (err) => this.#replyError(conn, caller, callId, err),
      );
    } else {
      this.#returned(conn, caller, callId, entry, method, result);
    }
  }

  #returned(conn: Connection, caller: Caller, callId: number, entry: Entry, method: string, value: unknown): void {
    const typeid = entry.methodToTypeid?.[method];
    if (typeid) {
      const id = this.#newEntry(value, typeid);
      this.#reply(conn, caller, callId, Status.Ok, new ReturnedRef(id));
      this.#collectIfUnused(id);
      return;
    }
    this.#reply(conn, caller, callId, Status.Ok, value);
  }

  async #create(conn: Connection, caller: Caller, callId: number, typeid: string, args: unknown[]): Promise<void> {
    const info = this.#types.get(typeid);
    if (!info || !info.factory) {
      this.#reply(conn, caller, callId, Status.Remote, `KeyError: typeid '${typeid}' ${info ? 'has no callable' : 'is not registered with this manager'}`);
      return;
    }
    let obj: unknown;
    try {
      const factory = info.factory;
      obj = withCaller(caller, () => (isClass(factory) ? new (factory as unknown as new (...a: unknown[]) => unknown)(...args) : factory(...args)));
      if (obj !== null && typeof obj === 'object' && typeof (obj as Promise<unknown>).then === 'function') obj = await obj;
    } catch (err) {
      this.#replyError(conn, caller, callId, err);
      return;
    }
    const id = this.#newEntry(obj, typeid);
    this.#reply(conn, caller, callId, Status.Ok, new ReturnedRef(id));
    this.#collectIfUnused(id);
  }

  #newEntry(obj: unknown, typeid: string): number {
    const info = this.#types.get(typeid);
    const exposedList = info?.exposed ?? publicMethods(obj);
    const id = this.#nextId++;
    this.#objects.set(id, {
      obj, typeid, refs: 0, exposed: new Set(exposedList), exposedList,
      methodToTypeid: info?.methodToTypeid ?? null, kind: info?.proxyKind ?? null,
    });
    return id;
  }

  #collectIfUnused(id: number): void {
    const entry = this.#objects.get(id);
    if (entry && entry.refs <= 0) this.#destroy(id, entry);
  }

  #destroy(id: number, entry: Entry): void {
    this.#objects.delete(id);
    const dispose = (entry.obj as { _dispose?: () => void } | null)?._dispose;
    if (typeof dispose === 'function') this.#quietly(() => dispose.call(entry.obj));
  }

  #replyError(conn: Connection, caller: Caller, callId: number, err: unknown): void {
    if (err instanceof Error) this.#reply(conn, caller, callId, Status.Error, err);
    else this.#reply(conn, caller, callId, Status.Remote, `${typeof err} thrown: ${String(err)}`);
  }

  #reply(conn: Connection, caller: Caller, callId: number | null, status: Status, value: unknown): void {
    if (conn.closed) return;
    try {
      whileReplying(this, caller, () => conn.send([callId, status, value]));
    } catch (err) {
      // Python's '#UNSERIALIZABLE': the caller gets a RemoteError saying why.
      try {
        conn.send([callId, Status.Remote, `${(err as Error).name}: ${(err as Error).message}`]);
      } catch { /* connection gone */ }
    }
  }

  #dropCaller(caller: Caller): void {
    for (const [token, t] of this.#transfers) if (t.caller === caller) this.#transfers.delete(token);
    for (const [id, n] of [...caller.held]) this.decref(caller, id, n);
    caller.close();
  }

  // ---- LocalServer ----------------------------------------------------------------
  referent(id: number): unknown {
    return this.#objects.get(id)?.obj;
  }

  describe(id: number): { typeid: string; kind: string | null; exposed: string[] } {
    const e = this.#objects.get(id);
    if (!e) throw new Error(`no object with id ${id}`);
    return { typeid: e.typeid, kind: e.kind, exposed: e.exposedList };
  }

  incref(caller: Caller, id: number): void {
    const entry = this.#objects.get(id);
    if (!entry) throw new Error(`no object with id ${id} in the manager`);
    entry.refs++;
    caller.held.set(id, (caller.held.get(id) ?? 0) + 1);
  }

  decref(caller: Caller, id: number, n = 1): void {
    const held = caller.held.get(id) ?? 0;
    const k = Math.min(n, held);
    if (k <= 0) return;
    if (held === k) caller.held.delete(id);
    else caller.held.set(id, held - k);
    const entry = this.#objects.get(id);
    if (!entry) return;
    entry.refs -= k;
    if (entry.refs <= 0) this.#destroy(id, entry);
  }

  transfer(caller: Caller, id: number, token: string): void {
    if (this.#preAdopted.delete(token)) return;
    this.incref(caller, id);
    this.#transfers.set(token, { id, caller });
  }

  adopt(caller: Caller, id: number, token: string): void {
    const t = this.#transfers.get(token);
    if (t) {
      this.#transfers.delete(token);
      this.incref(caller, id);
      this.decref(t.caller, id);
      return;
    }
    // The receiver was faster than the sender's Transfer: take a reference now, skip the Transfer later.
    this.incref(caller, id);
    this.#preAdopted.add(token);
  }
}

// ---- the manager's own process ---------------------------------------------------
/** A typeid as it travels to the server process. */
export interface WireType {
  typeid: string;
  builtin: string | null;
  factory: TaskSpec | null;
  exposed: string[] | null;
  methodToTypeid: Record<string, string> | null;
  proxyKind: string | null;
}

export interface ServerConfig {
  address: Address | null;
  family: Family | null;
  authkey: Buffer;
  types: WireType[];
  initializer: TaskSpec | null;
  initargs: unknown[];
  backlog?: number;
}

export async function resolveTypes(types: WireType[]): Promise<TypeInfo[]> {
  return Promise.all(types.map(async (t) => {
    const builtin = t.builtin ? builtinTypes[t.builtin] : undefined;
    const factory = builtin ? builtin.cls : t.factory ? await resolveTask(t.factory) : null;
    return {
      typeid: t.typeid,
      factory: factory as TypeInfo['factory'],
      exposed: t.exposed,
      methodToTypeid: t.methodToTypeid,
      proxyKind: builtin ? builtin.kind : t.proxyKind,
    };
  }));
}

/** Target of the manager process: serve until shutdown. The first message on `report` is the address (or the error). */
export async function runManagerServer(report: Connection, config: ServerConfig): Promise<void> {
  // CPython's manager process ignores SIGINT: Ctrl-C in a terminal is for the owner.
  process.on('SIGINT', () => undefined);
  let server: Server | undefined;
  // Terminated (shutdown timeout, or the owner exited without shutdown()): remove
  // the socket file first, then die of the signal as CPython's would (exitcode −15).
  const onTerm = (): void => {
    server?.stop();
    removeTempDir();
    unlinkOwnArenas();
    process.removeListener('SIGTERM', onTerm);
    process.kill(process.pid, 'SIGTERM');
  };
  process.on('SIGTERM', onTerm);
  try {
    const types = await resolveTypes(config.types);
    if (config.initializer) {
      const init = await resolveTask(config.initializer);
      await init(...config.initargs);
    }
    server = new Server(types, config.address, config.authkey, { family: config.family, backlog: config.backlog });
    await server.listening();
  } catch (err) {
    report.send({ error: err });
    await report.drain().catch(() => undefined);
    report.close();
    process.exitCode = 1;
    return;
  }
  report.send({ address: server.address });
  await report.drain();
  report.close();
  await server.serveForever();
  // Pools whose proxies were all released may still be finishing their jobs: end them before exiting.
  await terminateAllPools();
  // The manager's objects end with it: remove its segments now (the ones its pools' workers
  // shared too), rather than leave them to the tree's reaper, which runs only when the tree ends.
  unlinkOwnArenas();
  process.removeListener('SIGTERM', onTerm);
}
