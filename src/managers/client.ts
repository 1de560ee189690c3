/**
 * A process's connection to one manager server: one authenticated
 * Connection shared by every proxy of that manager in this process, with
 * pipelined calls. The connection keeps the event loop alive only while a
 * call is waiting for its reply.
 */
import type { Connection } from '../connection.js';
import { Client } from '../connection/listener.js';
import type { Address } from '../connection/address.js';
import { RemoteError } from '../errors.js';
import { Op, Status, addressKey, remoteErrorText } from './protocol.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const clients = new Map<string, ManagerClient>();

export class ManagerClient {
  /** The client for `address` in this process, created on first use. */
  static for(address: Address, authkey: Buffer | null): ManagerClient {
    const key = addressKey(address);
    let client = clients.get(key);
    if (!client) clients.set(key, (client = new ManagerClient(address, authkey)));
    return client;
  }

  /** Forget the client of `address` (after shutdown). */
  static drop(address: Address): void {
    const key = addressKey(address);
    const client = clients.get(key);
    clients.delete(key);
    client?.close();
  }

  #conn: Connection | null = null;
  #connecting: Promise<void> | null = null;
  #outbox: unknown[] = [];
  #flushQueued = false;
  readonly #pending = new Map<number, Pending>();
  #nextCall = 1;
  #reading = false;
  #closed = false;

  private constructor(readonly address: Address, readonly authkey: Buffer | null) {}

  /** Connect now (normally done on first use). Rejects when the manager cannot be reached. */
  async connect(): Promise<void> {
    if (this.#conn) return;
    this.#connecting ??= this.#open();
    return this.#connecting;
  }

  async #open(): Promise<void> {
    try {
      this.#conn = await Client(this.address, { authkey: this.authkey });
    } catch (err) {
      this.#fail(err as Error);
      throw err;
    } finally {
      this.#connecting = null;
    }
    this.#flush();
    if (this.#pending.size > 0) void this.#pump();
  }

  /** Send a request and resolve with its reply value. */
  call(op: Op, ...rest: unknown[]): Promise<unknown> {
    const callId = this.#nextCall++;
    const reply = new Promise<unknown>((resolve, reject) => this.#pending.set(callId, { resolve, reject }));
    const msg = [op, callId, ...rest];
    if (this.#conn && this.#outbox.length === 0) {
      try {
        this.#conn.send(msg);
      } catch (err) {
        this.#settle(callId, Status.Error, err);
        return reply;
      }
      if (!this.#reading) void this.#pump();
    } else {
      this.#outbox.push(msg);
      this.#start();
    }
    return reply;
  }

  /**
   * A request without reply, sent after whatever is being encoded now
   * (proxy reducers call this in the middle of an encode).
   */
  notify(msg: unknown[]): void {
    if (this.#closed) return;
    this.#outbox.push(msg);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#start();
      });
    }
  }

  #start(): void {
    if (this.#conn) this.#flush();
    else this.connect().catch(() => undefined);
  }

  #flush(): void {
    const conn = this.#conn;
    if (!conn) return;
    const out = this.#outbox;
    this.#outbox = [];
    for (const msg of out) {
      try {
        conn.send(msg);
      } catch (err) {
        const [op, callId] = msg as [Op, number];
        if (op !== Op.Incref && op !== Op.Decref && op !== Op.Transfer && op !== Op.Adopt) this.#settle(callId, Status.Error, err);
      }
    }
    if (this.#pending.size > 0 && !this.#reading) void this.#pump();
  }

  async #pump(): Promise<void> {
    const conn = this.#conn;
    if (this.#reading || !conn) return;
    this.#reading = true;
    try {
      while (this.#pending.size > 0) {
        const [callId, status, value] = await conn.recv<[number, Status, unknown]>();
        this.#settle(callId, status, value);
      }
    } catch (err) {
      this.#fail(err as Error);
    } finally {
      this.#reading = false;
    }
  }

  #settle(callId: number, status: Status, value: unknown): void {
    const pending = this.#pending.get(callId);
    if (!pending) return;
    this.#pending.delete(callId);
    if (status === Status.Ok) pending.resolve(value);
    else if (status === Status.Error) pending.reject(value);
    else pending.reject(new RemoteError(remoteErrorText(String(value))));
  }

  /** The connection broke: fail every waiting call; the next call connects again. */
  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#outbox = [];
    this.#conn?.close();
    this.#conn = null;
  }

  close(): void {
    this.#closed = true;
    this.#conn?.close();
    this.#conn = null;
  }
}
