/**
 * The manager protocol. One authenticated Connection per client process and
 * manager; requests may be pipelined (replies carry the call id).
 *
 *   [Call, callId, id, method, args]   → [callId, status, value]
 *   [Create, callId, typeid, args]     → [callId, status, proxy]
 *   [Incref, id] [Decref, id, n]       (no reply)
 *   [Transfer, id, token]              sender keeps a reference alive for a proxy in flight
 *   [Adopt, id, token]                 receiver takes that reference over
 *   [Shutdown, callId] [Info, callId]
 */
import type { Address } from '../connection/address.js';

export const enum Op {
  Call = 0,
  Create = 1,
  Incref = 2,
  Decref = 3,
  Transfer = 4,
  Adopt = 5,
  Shutdown = 6,
  Info = 7,
}

export const enum Status {
  Ok = 0,
  /** value is the referent's error, re-raised with its class */
  Error = 1,
  /** value is the text of a server-side failure: RemoteError */
  Remote = 2,
}

/** How a proxy travels: [address, id, typeid, kind, exposed, mode, token, authkey]. */
export type ProxyState = [
  address: Address, id: number, typeid: string, kind: string | null, exposed: string[] | null,
  mode: ProxyMode, token: string, authkey: Buffer | null,
];

export const enum ProxyMode {
  /** The server already counted a reference for the receiving connection. */
  Owned = 0,
  /** The sender holds a reference under `token` until the receiver adopts it. */
  Adopt = 1,
}

/** What the server knows per typeid. */
export interface TypeInfo {
  typeid: string;
  /** A class (called with new) or a function; null: only returned by other methods (methodToTypeid). */
  factory: ((...args: any[]) => unknown) | null;
  exposed: string[] | null;
  methodToTypeid: Record<string, string> | null;
  /** Name of the proxy class clients build (DictProxy …); null: an AutoProxy from `exposed`. */
  proxyKind: string | null;
}

/** Map key of an address: tuples and strings compare by value. */
export function addressKey(address: Address): string {
  return typeof address === 'string' ? address : `${address[0]}:${address[1]}`;
}

/** RemoteError's text, as CPython formats it. */
export function remoteErrorText(text: string): string {
  const line = '-'.repeat(75);
  return `\n${line}\n${text}${text.endsWith('\n') ? '' : '\n'}${line}`;
}
