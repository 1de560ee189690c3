/**
 * The authkey handshake of CPython ≥ 3.12 (SEMANTICS.md §1.4): a mutual
 * HMAC challenge, server first. Every message is an ordinary frame; nothing a
 * peer sends is deserialized, and a frame longer than 256 bytes is refused
 * as soon as its header arrives, so a hostile peer cannot make us buffer.
 *
 *   server → client  #CHALLENGE#{sha256}<40 random bytes>
 *   client → server  {sha256}HMAC-SHA256(authkey, '{sha256}<40 bytes>')
 *   server → client  #WELCOME#  |  #FAILURE#
 *   … then the same with roles swapped.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, EOFError, OSError, TimeoutError, TypeError, ValueError } from '../errors.js';
import type { Connection } from '../connection.js';
import { MAX_FRAME } from '../wire/frames.js';

const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const MESSAGE_LENGTH = 40;
const MINIMUM_LENGTH = 20;
/** Longest handshake message accepted (CPython's recv_bytes(256)). */
export const MAX_HANDSHAKE_MESSAGE = 256;
const DEFAULT_DIGEST = 'sha256';
/** Digest names a peer may ask for, and node:crypto's name for each. */
const DIGESTS: Record<string, string> = { md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha3_256: 'sha3-256', sha3_384: 'sha3-384' };

/** Authkeys are bytes; `null` means "no authentication". */
export function checkAuthkey(authkey: unknown): Buffer | null {
  if (authkey === null || authkey === undefined) return null;
  if (!(authkey instanceof Uint8Array)) throw new TypeError('authkey should be a byte string');
  return Buffer.from(authkey);
}

/** Cap the payload of frames the connection accepts (a hostile length header fails at once). */
function limitIncoming(conn: Connection, max: number): void {
  conn._channel().setMaxPayload(max);
}

async function recvMessage(conn: Connection): Promise<Buffer> {
  let frame;
  try {
    frame = await conn._channel().nextFrame();
  } catch (err) {
    if (err instanceof RangeError) throw new OSError('bad message length');
    throw err;
  }
  if (!frame) throw new EOFError('connection closed during the authentication handshake');
  return frame.payload;
}

function hmac(authkey: Buffer, message: Buffer, digest: string): Buffer {
  return createHmac(DIGESTS[digest] ?? digest, authkey).update(message).digest();
}

/** `{name}rest` → [name, rest]; no prefix → ['', whole]. */
function splitDigestName(message: Buffer): [string, Buffer] {
  if (message.length > 0 && message[0] === 0x7b /* { */) {
    const end = message.indexOf(0x7d /* } */);
    if (end > 0 && end < 20) return [message.subarray(1, end).toString('latin1'), message.subarray(end + 1)];
  }
  return ['', message];
}

function reprBytes(b: Buffer): string {
  const shown = b.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `b'${shown}'${b.length > 40 ? '...' : ''}`;
}

function verify(authkey: Buffer, message: Buffer, response: Buffer): boolean {
  let [name, digest] = splitDigestName(response);
  if (name === '') {
    // A legacy (≤ 3.11) peer answers with a raw 16-byte HMAC-MD5.
    if (response.length !== 16) return false;
    name = 'md5';
    digest = response;
  }
  if (!(name in DIGESTS)) return false;
  const expected = hmac(authkey, message, name);
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}

function newChallenge(): Buffer {
  return Buffer.concat([Buffer.from(`{${DEFAULT_DIGEST}}`), randomBytes(MESSAGE_LENGTH)]);
}

/** Challenge the peer (`message` already sent when given); throws when its answer is wrong. */
async function deliverChallenge(conn: Connection, authkey: Buffer, sent?: Buffer): Promise<void> {
  const message = sent ?? newChallenge();
  if (!sent) conn.sendBytes(Buffer.concat([CHALLENGE, message]));
  const response = await recvMessage(conn);
  if (!verify(authkey, message, response)) {
    conn.sendBytes(FAILURE);
    throw new AuthenticationError('digest received was wrong');
  }
  conn.sendBytes(WELCOME);
}

/**
 * Client side, first half: prove we know the key. `early` is sent right
 * after our answer, before the verdict arrives (the client's own challenge:
 * it saves a round trip and changes nothing a peer reads, as every message
 * is read in order).
 */
async function answerChallenge(conn: Connection, authkey: Buffer, early?: () => void): Promise<void> {
  const received = await recvMessage(conn);
  if (!received.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw new AuthenticationError(`Protocol error, expected challenge: ${reprBytes(received)}`);
  }
  const message = received.subarray(CHALLENGE.length);
  if (message.length < MINIMUM_LENGTH) {
    throw new AuthenticationError(`challenge too short: ${message.length} bytes`);
  }
  const [name] = splitDigestName(message);
  let answer: Buffer;
  if (name === '') {
    answer = hmac(authkey, message, 'md5');
  } else {
    if (!(name in DIGESTS)) throw new AuthenticationError(`unsupported message digest: ${name}`);
    answer = Buffer.concat([Buffer.from(`{${name}}`), hmac(authkey, message, name)]);
  }
  conn.sendBytes(answer);
  early?.();
  const reply = await recvMessage(conn);
  if (!reply.equals(WELCOME)) throw new AuthenticationError('digest sent was rejected');
}

export type Role = 'server' | 'client';

/** The client answers, sends its own challenge at once, then checks the verdict and the server's answer. */
async function clientSteps(conn: Connection, authkey: Buffer): Promise<void> {
  const mine = newChallenge();
  await answerChallenge(conn, authkey, () => conn.sendBytes(Buffer.concat([CHALLENGE, mine])));
  await deliverChallenge(conn, authkey, mine);
}

/**
 * Run the mutual handshake on a fresh connection, within `timeoutMs`.
 * On any failure the connection is closed and the error thrown:
 * AuthenticationError (wrong key, garbage), OSError('bad message length'),
 * EOFError (peer left), TimeoutError (peer silent).
 */
export async function authenticate(conn: Connection, authkey: Buffer, role: Role, timeoutMs: number): Promise<void> {
  if (!(authkey instanceof Uint8Array)) throw new ValueError(`Authkey must be bytes, not ${typeof authkey}`);
  limitIncoming(conn, MAX_HANDSHAKE_MESSAGE);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`authentication handshake timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const steps = role === 'server'
    ? deliverChallenge(conn, authkey).then(() => answerChallenge(conn, authkey))
    : clientSteps(conn, authkey);
  try {
    await Promise.race([steps, expired]);
  } catch (err) {
    steps.catch(() => undefined);
    // Let a FAILURE reply go out before closing.
    conn.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  limitIncoming(conn, MAX_FRAME);
}
