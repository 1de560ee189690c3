/**
 * Listener and Client (CPython's multiprocessing.connection): stream sockets,
 * TCP or Unix, whose connections are ordinary framed Connections, with the
 * optional authkey handshake.
 *
 * A Listener accepts in the background and authenticates every peer
 * concurrently, each within `handshakeTimeout`: a silent or hostile peer is
 * cut off without delaying the others. `accept()` hands out connections that
 * passed, in the order they passed; a peer that failed makes one `accept()`
 * reject with the reason (as CPython's accept() raises), and the next
 * `accept()` goes on with the other peers.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { Connection } from '../connection.js';
import { OSError, ValueError } from '../errors.js';
import {
  toEndpoint, endpointAddress, type Address, type Endpoint, type Family,
} from './address.js';
import { authenticate, checkAuthkey } from './handshake.js';
import { takeSocketFd } from './socket-fd.js';

export type { Address, Family };

/** Default bound on a peer's authentication (connect included, for Client). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** Failed handshakes kept for accept() to report; older ones are dropped. */
const MAX_KEPT_FAILURES = 32;

export interface ListenerOptions {
  family?: Family | null;
  /** Kernel accept queue length (CPython's default is 1; ours accepts eagerly anyway). */
  backlog?: number;
  /** Bytes to authenticate peers with; null/undefined: no authentication. Empty bytes do authenticate. */
  authkey?: Uint8Array | null;
  /** Longest a peer may take to authenticate, in ms. */
  handshakeTimeout?: number;
}

export interface ClientOptions {
  family?: Family | null;
  authkey?: Uint8Array | null;
  /** Longest connecting plus authenticating may take, in ms. */
  timeout?: number;
}

type Outcome = { conn: Connection; peer: Address | null } | { error: Error };

export class Listener {
  readonly #server: net.Server;
  readonly #endpoint: Endpoint;
  readonly #authkey: Buffer | null;
  readonly #handshakeTimeout: number;
  readonly #outcomes: Outcome[] = [];
  readonly #waiters: Array<{ resolve: (o: Outcome) => void }> = [];
  readonly #pending = new Set<Connection>();
  #closed = false;
  #listenError: Error | null = null;
  #lastAccepted: Address | null = null;

  constructor(address?: Address | null, opts: ListenerOptions = {}) {
    this.#authkey = checkAuthkey(opts.authkey);
    this.#endpoint = toEndpoint(address, opts.family);
    const backlog = opts.backlog ?? 1;
    if (!Number.isInteger(backlog) || backlog < 0) throw new ValueError('backlog must be a non-negative integer');
    this.#handshakeTimeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.#onSocket(socket));
    this.#server = server;
    server.on('error', (err: NodeJS.ErrnoException) => {
      this.#listenError = new OSError(err.message, { cause: err, errno: err.code });
      this.#wakeAll({ error: this.#listenError });
    });
    // Idle listeners do not keep the process alive; a pending accept() does.
    server.unref();
    const ep = this.#endpoint;
    const queue = Math.max(backlog, 1);
    if (ep.family === 'AF_UNIX') {
      // CPython's bind() fails on an existing path: say so now rather than on the next tick.
      if (!ep.path.startsWith('\0') && pathExists(ep.path)) {
        throw new OSError(`[Errno 98] Address already in use: ${JSON.stringify(ep.path)}`, { errno: 'EADDRINUSE' });
      }
      server.listen({ path: ep.path, backlog: queue });
      return;
    }
    // Bind now when we can, so that `address` (port 0) and EADDRINUSE are known at once, as in CPython.
    const handle = bindTcpNow(ep.host, ep.port, ep.family === 'AF_INET6', queue);
    if (handle) server.listen(handle as never, queue);
    else server.listen({ host: ep.host, port: ep.port, backlog: queue, ipv6Only: ep.family === 'AF_INET6' });
  }

  /** The address peers connect to (for TCP port 0: the port chosen), in the style it was given. */
  get address(): Address {
    const ep = this.#endpoint;
    if (ep.family === 'AF_UNIX') return ep.path;
    const bound = this.#server.address();
    if (bound && typeof bound === 'object') return endpointAddress({ ...ep, port: bound.port });
    return endpointAddress(ep);
  }

  /** Address of the last accepted peer (null for Unix sockets, as the peer has no name). */
  get lastAccepted(): Address | null {
    return this.#lastAccepted;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once listening; rejects with the bind error (EADDRINUSE …). */
  listening(): Promise<this> {
    if (this.#listenError) return Promise.reject(this.#listenError);
    if (this.#server.listening) return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      this.#server.once('listening', () => resolve(this));
      this.#server.once('error', () => reject(this.#listenError));
    });
  }

  /** The next authenticated connection. Rejects with a handshake failure or OSError('listener is closed'). */
  async accept(): Promise<Connection> {
    if (this.#closed) throw new OSError('listener is closed');
    if (this.#listenError) throw this.#listenError;
    const outcome = this.#outcomes.shift() ?? await new Promise<Outcome>((resolve) => {
      this.#waiters.push({ resolve });
      this.#server.ref();
    });
    if (this.#waiters.length === 0) this.#server.unref();
    if ('error' in outcome) throw outcome.error;
    this.#lastAccepted = outcome.peer;
    return outcome.conn;
  }

  /** Stop listening (a Unix socket file is removed). Queued and half-authenticated connections are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const o of this.#outcomes.splice(0)) if ('conn' in o) o.conn.close();
    for (const c of this.#pending) c.close();
    this.#pending.clear();
    this.#wakeAll({ error: new OSError('listener is closed') });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal For wait(): an accept() would not wait. */
  _ready(): boolean {
    return this.#closed || this.#listenError !== null || this.#outcomes.length > 0;
  }

  /** @internal For wait(): resolves when _ready() turns true (no outcome is consumed). */
  _whenReady(): { promise: Promise<void>; cancel: () => void } {
    if (this._ready()) return { promise: Promise.resolve(), cancel: () => undefined };
    let entry!: { resolve: () => void };
    const promise = new Promise<void>((resolve) => { entry = { resolve }; this.#readyWaiters.add(entry); });
    return { promise, cancel: () => this.#readyWaiters.delete(entry) };
  }
  readonly #readyWaiters = new Set<{ resolve: () => void }>();

  #onSocket(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const peer: Address | null = socket.remoteAddress ? [socket.remoteAddress, socket.remotePort ?? 0] : null;
    let conn: Connection;
    try {
      if (this.#endpoint.family !== 'AF_UNIX') socket.setNoDelay(true);
      conn = new Connection(takeSocketFd(socket));
    } catch (err) {
      this.#deliver({ error: err as Error });
      return;
    }
    const authkey = this.#authkey;
    if (authkey === null) {
      this.#deliver({ conn, peer });
      return;
    }
    this.#pending.add(conn);
    authenticate(conn, authkey, 'server', this.#handshakeTimeout).then(
      () => {
        if (!this.#pending.delete(conn)) return; // closed meanwhile
        this.#deliver({ conn, peer });
      },
      (error: Error) => {
        if (!this.#pending.delete(conn)) return;
        this.#deliver({ error });
      },
    );
  }

  #deliver(outcome: Outcome): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(outcome);
      return;
    }
    if ('error' in outcome && this.#outcomes.filter((o) => 'error' in o).length >= MAX_KEPT_FAILURES) {
      this.#outcomes.splice(this.#outcomes.findIndex((o) => 'error' in o), 1);
    }
    this.#outcomes.push(outcome);
    for (const w of [...this.#readyWaiters]) w.resolve();
    this.#readyWaiters.clear();
  }

  #wakeAll(outcome: { error: Error }): void {
    for (const w of this.#waiters.splice(0)) w.resolve(outcome);
    for (const w of [...this.#readyWaiters]) w.resolve();
    this.#readyWaiters.clear();
    this.#server.unref();
  }

  toString(): string {
    return `<Listener address=${JSON.stringify(this.address)}${this.#closed ? ' closed' : ''}>`;
  }
}

/**
 * Connect to a Listener; with `authkey`, run the mutual handshake.
 * Nothing listening rejects with OSError (errno ECONNREFUSED or ENOENT).
 */
export async function Client(address: Address, opts: ClientOptions = {}): Promise<Connection> {
  const authkey = checkAuthkey(opts.authkey);
  const ep = toEndpoint(address, opts.family);
  const timeout = opts.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const started = Date.now();
  const socket = ep.family === 'AF_UNIX'
    ? net.connect({ path: ep.path, allowHalfOpen: true })
    : net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true, noDelay: true });
  socket.pause();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new OSError(`connecting to ${JSON.stringify(address)} timed out after ${timeout} ms`, { errno: 'ETIMEDOUT' }));
    }, timeout);
    socket.once('connect', () => { clearTimeout(timer); resolve(); });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new OSError(connectMessage(err), { cause: err, errno: err.code }));
    });
  });
  const conn = new Connection(takeSocketFd(socket));
  if (authkey !== null) {
    await authenticate(conn, authkey, 'client', Math.max(1, timeout - (Date.now() - started)));
  }
  return conn;
}

function connectMessage(err: NodeJS.ErrnoException): string {
  const names: Record<string, string> = {
    ECONNREFUSED: '[Errno 111] Connection refused',
    ENOENT: '[Errno 2] No such file or directory',
  };
  return names[err.code ?? ''] ?? err.message;
}

function pathExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

interface TcpHandle {
  bind(ip: string, port: number): number;
  bind6(ip: string, port: number, flags: number): number;
  listen(backlog: number): number;
  close(): void;
}
let tcpWrap: { TCP: new (type: number) => TcpHandle; constants: { SERVER: number; UV_TCP_IPV6ONLY: number } } | null | undefined;

/**
 * A TCP server handle bound right away (Node's own listen() binds a host
 * address only after a DNS lookup tick). Returns null when the binding is
 * not available or the host is not an IP literal: then listen() binds later.
 */
function bindTcpNow(host: string, port: number, v6: boolean, backlog: number): TcpHandle | null {
  if (net.isIP(host) === 0) return null;
  if (tcpWrap === undefined) {
    try {
      const binding = (process as unknown as { binding(name: string): typeof tcpWrap }).binding('tcp_wrap');
      tcpWrap = binding && typeof binding.TCP === 'function' ? binding : null;
    } catch {
      tcpWrap = null;
    }
  }
  if (!tcpWrap) return null;
  let handle: TcpHandle;
  try {
    handle = new tcpWrap.TCP(tcpWrap.constants.SERVER);
  } catch {
    tcpWrap = null;
    return null;
  }
  let err = v6 ? handle.bind6(host, port, tcpWrap.constants.UV_TCP_IPV6ONLY) : handle.bind(host, port);
  // libuv reports EADDRINUSE from listen(), not bind(): listen now (Node's listen() repeats it harmlessly).
  if (!err) err = handle.listen(backlog);
  if (err) {
    handle.close();
    const code = getSystemErrorName(err);
    const text = code === 'EADDRINUSE' ? '[Errno 98] Address already in use' : code === 'EADDRNOTAVAIL' ? '[Errno 99] Cannot assign requested address' : `bind failed: ${code}`;
    throw new OSError(text, { errno: code });
  }
  return handle;
}
