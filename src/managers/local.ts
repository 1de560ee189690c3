/**
 * What a manager server running in this process tells the proxy reducers:
 * a proxy for this very server rebuilds as a direct, local reference, and a
 * proxy encoded into a reply is counted for the connection it goes to.
 */
import type { Address } from '../connection/address.js';
import type { Caller } from './caller.js';
import { addressKey } from './protocol.js';

export interface LocalServer {
  readonly address: Address;
  /** The referent object behind `id`, or undefined. */
  referent(id: number): unknown;
  /** Count one more reference for `caller`. Throws when the id is unknown. */
  incref(caller: Caller, id: number): void;
  decref(caller: Caller, id: number, n?: number): void;
  /** Take over the reference sent under `token` (or take a new one). */
  adopt(caller: Caller, id: number, token: string): void;
  /** Keep a reference alive for a proxy this process sends elsewhere. */
  transfer(caller: Caller, id: number, token: string): void;
  /** Caller that server-local proxies hold their references as. */
  readonly localCaller: Caller;
  /** typeid, proxy kind and exposed methods of a referent. */
  describe(id: number): { typeid: string; kind: string | null; exposed: string[] };
}

const servers = new Map<string, LocalServer>();

export function registerLocalServer(server: LocalServer): void {
  servers.set(addressKey(server.address), server);
}

export function unregisterLocalServer(server: LocalServer): void {
  const key = addressKey(server.address);
  if (servers.get(key) === server) servers.delete(key);
}

export function localServerFor(address: Address): LocalServer | undefined {
  return servers.size === 0 ? undefined : servers.get(addressKey(address));
}

/** The connection a reply is being encoded for (set by the server around send). */
let replying: { server: LocalServer; caller: Caller } | null = null;

export function replyTarget(): { server: LocalServer; caller: Caller } | null {
  return replying;
}

export function whileReplying<T>(server: LocalServer, caller: Caller, fn: () => T): T {
  const previous = replying;
  replying = { server, caller };
  try {
    return fn();
  } finally {
    replying = previous;
  }
}
