/**
 * Addresses of Listener and Client, as CPython spells them: `'host:port'` or
 * `[host, port]` (TCP), a filesystem path or `'\0name'` (a Unix socket, the
 * latter in Linux's abstract namespace), and the family each one implies.
 */
import * as fs from 'node:fs';
import { registerPath, unregisterPath } from '../resource-tracker.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TypeError, ValueError } from '../errors.js';

export type Address = string | readonly [host: string, port: number];
export type Family = 'AF_INET' | 'AF_INET6' | 'AF_UNIX';

export const DEFAULT_HOST = '127.0.0.1';

/** Where to listen or connect, resolved: TCP host+port or a Unix socket path. */
export type Endpoint =
  | { family: 'AF_INET' | 'AF_INET6'; host: string; port: number; style: 'tuple' | 'string' }
  | { family: 'AF_UNIX'; path: string };

const HOST_PORT = /^(?:\[([^\]]*)\]|([^/:\0]*)):(\d+)$/;

/** The family an address implies (CPython's address_type). */
export function addressType(address: Address): Family {
  if (Array.isArray(address)) return isIPv6(address[0]) ? 'AF_INET6' : 'AF_INET';
  if (typeof address !== 'string') throw new TypeError(`address type of ${describe(address)} unrecognized`);
  if (address.startsWith('\0') || address.includes('/')) return 'AF_UNIX';
  const m = HOST_PORT.exec(address);
  if (m) return m[1] !== undefined ? 'AF_INET6' : 'AF_INET';
  return 'AF_UNIX';
}

function isIPv6(host: string): boolean {
  return typeof host === 'string' && host.includes(':');
}

function describe(v: unknown): string {
  return v === null ? 'None' : typeof v === 'object' ? Object.prototype.toString.call(v) : String(v);
}

export function checkFamily(family: string): Family {
  if (family !== 'AF_INET' && family !== 'AF_INET6' && family !== 'AF_UNIX') {
    throw new ValueError(`Family ${family} is not recognized.`);
  }
  return family;
}

/** Resolve `address` (or a fresh default for `family`) to an endpoint. */
export function toEndpoint(address: Address | null | undefined, family?: Family | null): Endpoint {
  if (address === null || address === undefined) {
    const fam = family ? checkFamily(family) : 'AF_UNIX';
    if (fam === 'AF_UNIX') return { family: 'AF_UNIX', path: arbitraryUnixPath() };
    return { family: fam, host: fam === 'AF_INET6' ? '::1' : DEFAULT_HOST, port: 0, style: 'tuple' };
  }
  const implied = addressType(address);
  if (family && checkFamily(family) !== implied && !(family.startsWith('AF_INET') && implied.startsWith('AF_INET'))) {
    throw new ValueError(`address ${formatAddress(address)} does not belong to family ${family}`);
  }
  if (Array.isArray(address)) {
    const [host, port] = address as readonly [string, number];
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValueError(`invalid port: ${String(port)}`);
    return { family: implied as 'AF_INET', host: host || DEFAULT_HOST, port, style: 'tuple' };
  }
  const text = address as string;
  if (implied === 'AF_UNIX') {
    if (text.length === 0) throw new ValueError('empty socket path');
    return { family: 'AF_UNIX', path: text };
  }
  const m = HOST_PORT.exec(text)!;
  const host = m[1] ?? m[2] ?? '';
  return { family: implied, host: host || DEFAULT_HOST, port: Number(m[3]), style: 'string' };
}

/** The address as users see it, in the style they gave it. */
export function endpointAddress(ep: Endpoint): Address {
  if (ep.family === 'AF_UNIX') return ep.path;
  if (ep.style === 'tuple') return [ep.host, ep.port] as const;
  return ep.family === 'AF_INET6' ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

export function formatAddress(address: Address): string {
  if (Array.isArray(address)) return `('${address[0]}', ${address[1]})`;
  return JSON.stringify(address).replace(/\\u0000/g, '\\0');
}

let tempDir: string | null = null;

/** `<tmp>/pymp-XXXX/listener-XXXX`, as CPython; the directory is removed at exit. */
export function arbitraryUnixPath(): string {
  if (tempDir === null) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pymp-'));
    // Removed at exit; if this process is killed, the resource tracker removes it when the tree ends.
    registerPath(tempDir);
    process.once('exit', removeTempDir);
  }
  return path.join(tempDir, `listener-${randomBytes(6).toString('hex')}`);
}

/** Remove the directory of default Unix socket addresses (at exit; a process about to die by a signal calls it itself). */
export function removeTempDir(): void {
  if (tempDir === null) return;
  try { fs.rmSync(tempDir, { recursive: true, force: true }); } catch { /* best effort */ }
  unregisterPath(tempDir);
  tempDir = null;
}
