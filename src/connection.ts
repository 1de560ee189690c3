/**
 * Connection and Pipe: message-oriented, framed, with CPython's semantics
 * and errors. Every blocking call has a Promise form and a Sync form; the
 * Sync forms block the thread without the event loop (for CPU-bound code).
 */
import { BufferTooShort, EOFError, OSError, SerializationError, TypeError, ValueError } from './errors.js';
import { codec, registerReducer } from './wire/codec.js';
import { FrameChannel } from './wire/channel.js';
import { Tag, type Frame } from './wire/frames.js';
import { socketpair } from './native/fd.js';
import { importForDecode } from './modules.js';

export class Connection {
  #channel: FrameChannel | null;
  #readable: boolean;
  #writable: boolean;

  /** Wraps a connected stream socket fd; billiard creates these, users get them from Pipe/Client/accept. */
  constructor(fd: number, opts: { readable?: boolean; writable?: boolean } = {}) {
    const readable = opts.readable ?? true;
    const writable = opts.writable ?? true;
    if (!Number.isInteger(fd) || fd < 0) throw new ValueError('invalid handle');
    if (!readable && !writable) throw new ValueError('at least one of `readable` and `writable` must be True');
    this.#channel = new FrameChannel(fd);
    this.#readable = readable;
    this.#writable = writable;
  }

  get closed(): boolean {
    return this.#channel === null;
  }
  get readable(): boolean {
    return this.#readable;
  }
  get writable(): boolean {
    return this.#writable;
  }

  fileno(): number {
    return this.#open().fd;
  }

  #open(): FrameChannel {
    if (!this.#channel) throw new OSError('handle is closed');
    return this.#channel;
  }
  #forReading(): FrameChannel {
    const channel = this.#open();
    if (!this.#readable) throw new OSError('connection is write-only');
    return channel;
  }
  #forWriting(): FrameChannel {
    const channel = this.#open();
    if (!this.#writable) throw new OSError('connection is read-only');
    return channel;
  }

  // ---- sending ----------------------------------------------------------------
  /** Serialize `obj` and send it as one message. Nothing is sent when it cannot be serialized. */
  send(obj: unknown): void {
    const channel = this.#forWriting();
    const { body, attachments } = codec.encode(obj, { attachments: true, root: 'obj' });
    // Attachments are the caller's memory: snapshot them, as serializing would.
    channel.send(Tag.Object, body, attachments.map((a) => Buffer.from(a)));
  }

  /** Send raw bytes; `offset` and `size` count bytes, even for typed arrays (as CPython). */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    const channel = this.#forWriting();
    const bytes = asBytes(buf);
    const length = bytes.byteLength;
    if (offset < 0) throw new ValueError('offset is negative');
    if (length < offset) throw new ValueError('buffer length < offset');
    if (size === undefined || size === null) size = length - offset;
    else if (size < 0) throw new ValueError('size is negative');
    else if (offset + size > length) throw new ValueError('buffer length < offset + size');
    channel.send(Tag.Bytes, Buffer.from(bytes.subarray(offset, offset + size)));
  }

  /** Resolves when everything sent so far has been handed to the kernel. */
  drain(): Promise<void> {
    return this.#open().drain();
  }

  // ---- receiving --------------------------------------------------------------
  /** Receive one message sent with `send` (a `sendBytes` message arrives as a Buffer). */
  recv<T = unknown>(): Promise<T> {
    return this.#recv(this.#forReading());
  }

  async #recv<T>(channel: FrameChannel): Promise<T> {
    const attachments: Buffer[] = [];
    for (;;) {
      const frame = await channel.nextFrame();
      if (!frame) throw new EOFError();
      if (frame.tag === Tag.Attachment) { attachments.push(frame.payload); continue; }
      if (frame.tag !== Tag.Object) return frame.payload as T;
      return (await codec.decodeAsync(frame.payload, { attachments, importModule: importForDecode })) as T;
    }
  }

  recvSync<T = unknown>(): T {
    const channel = this.#forReading();
    const attachments: Buffer[] = [];
    for (;;) {
      const frame = channel.nextFrameSync();
      if (!frame) throw new EOFError();
      if (frame.tag === Tag.Attachment) { attachments.push(frame.payload); continue; }
      if (frame.tag !== Tag.Object) return frame.payload as T;
      return codec.decode(frame.payload, { attachments }).value as T;
    }
  }

  /** Receive one message as bytes. A message longer than `maxlength` is an error and disables reading. */
  recvBytes(maxlength?: number): Promise<Buffer> {
    this.#checkMaxlength(maxlength);
    return this.#recvBytes(this.#forReading(), maxlength);
  }

  async #recvBytes(channel: FrameChannel, maxlength: number | undefined): Promise<Buffer> {
    if (maxlength !== undefined && maxlength !== null) {
      // Wait for the header only: a longer message is refused before its payload is read (CPython).
      const previous = this.#limit(channel, maxlength);
      try {
        await channel.waitReadable(null);
        this.#enforceMaxlength(channel, maxlength);
      } finally {
        channel.setMaxPayload(previous);
      }
    }
    return (await this.#nextMessage(() => channel.nextFrame())).payload;
  }

  recvBytesSync(maxlength?: number): Buffer {
    this.#checkMaxlength(maxlength);
    const channel = this.#forReading();
    if (maxlength !== undefined && maxlength !== null) {
      const previous = this.#limit(channel, maxlength);
      try {
        channel.waitReadableSync(null);
        this.#enforceMaxlength(channel, maxlength);
      } finally {
        channel.setMaxPayload(previous);
      }
    }
    return this.#nextMessageSync(channel).payload;
  }

  /** Lower the channel's payload limit to `maxlength` while waiting for a header; returns the old limit. */
  #limit(channel: FrameChannel, maxlength: number): number {
    const previous = channel.maxPayload;
    channel.setMaxPayload(Math.min(previous, Math.floor(maxlength)));
    return previous;
  }

  /** Receive into `buf` at byte `offset`; returns the byte count. A message that does not fit throws BufferTooShort (consumed). */
  recvBytesInto(buf: ArrayBufferView | ArrayBuffer, offset = 0): Promise<number> {
    const target = this.#checkInto(buf, offset);
    const channel = this.#forReading();
    return this.#nextMessage(() => channel.nextFrame()).then((frame) => this.#copyInto(frame.payload, target, offset));
  }

  recvBytesIntoSync(buf: ArrayBufferView | ArrayBuffer, offset = 0): number {
    const target = this.#checkInto(buf, offset);
    const channel = this.#forReading();
    return this.#copyInto(this.#nextMessageSync(channel).payload, target, offset);
  }

  /** Whether a message (or EOF) is ready, waiting up to `timeout` ms (0: don't wait; null: forever). */
  poll(timeout: number | null = 0): Promise<boolean> {
    const channel = this.#forReading();
    return channel.waitReadable(normalizeTimeout(timeout));
  }

  pollSync(timeout: number | null = 0): boolean {
    const channel = this.#forReading();
    return channel.waitReadableSync(normalizeTimeout(timeout));
  }

  #checkMaxlength(maxlength: number | undefined): void {
    if (maxlength === undefined || maxlength === null) return;
    if (typeof maxlength !== 'number') throw new TypeError(`maxlength must be a number, not ${typeof maxlength}`);
    if (Number.isNaN(maxlength)) throw new ValueError('maxlength must be a number, not NaN');
    if (maxlength < 0) throw new ValueError('negative maxlength');
  }

  #enforceMaxlength(channel: FrameChannel, maxlength: number): void {
    const header = channel.peekFrame();
    if (header && header.length > maxlength) {
      if (this.#writable) this.#readable = false;
      else this.close();
      throw new OSError('bad message length');
    }
  }

  async #nextMessage(next: () => Promise<Frame | null>): Promise<Frame> {
    for (;;) {
      const frame = await next();
      if (!frame) throw new EOFError();
      if (frame.tag !== Tag.Attachment) return frame;
    }
  }

  #nextMessageSync(channel: FrameChannel): Frame {
    for (;;) {
      const frame = channel.nextFrameSync();
      if (!frame) throw new EOFError();
      if (frame.tag !== Tag.Attachment) return frame;
    }
  }

  #checkInto(buf: ArrayBufferView | ArrayBuffer, offset: number): Uint8Array {
    const target = asBytes(buf);
    if (offset < 0) throw new ValueError('negative offset');
    if (offset > target.byteLength) throw new ValueError('offset too large');
    return target;
  }

  #copyInto(payload: Buffer, target: Uint8Array, offset: number): number {
    if (payload.length > target.byteLength - offset) throw new BufferTooShort(payload);
    target.set(payload, offset);
    return payload.length;
  }

  // ---- lifetime -----------------------------------------------------------------
  /** Close this end. Messages already sent are still delivered. Idempotent. */
  close(): void {
    const channel = this.#channel;
    if (!channel) return;
    this.#channel = null;
    channel.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Hand the fd over (to a child) without closing it here. */
  _channel(): FrameChannel {
    return this.#open();
  }
}

function asBytes(buf: ArrayBufferView | ArrayBuffer): Uint8Array {
  if (buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new SerializationError('expected a Buffer, typed array, DataView or ArrayBuffer');
}

function normalizeTimeout(timeout: number | null | undefined): number | null {
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout !== 'number') throw new TypeError(`timeout must be a number, not ${typeof timeout}`);
  if (Number.isNaN(timeout)) throw new ValueError('timeout must be a number');
  return Math.max(0, timeout);
}

/**
 * A pair of connected Connections. Duplex by default; `Pipe(false)` returns
 * `[reader, writer]`.
 */
export function Pipe(duplex = true): [Connection, Connection] {
  const [a, b] = socketpair();
  if (duplex) return [new Connection(a), new Connection(b)];
  return [new Connection(a, { writable: false }), new Connection(b, { readable: false })];
}

// A Connection given to a Process travels as an inherited fd.
registerReducer(Connection, 'Connection', {
  reduce(conn, ctx) {
    if (ctx.purpose !== 'spawn') {
      throw new SerializationError('a Connection can be sent to a process only as a Process argument');
    }
    const index = ctx.fds.push(conn._channel().fd) - 1;
    return [index, conn.readable, conn.writable];
  },
  rebuild([index, readable, writable]: [number, boolean, boolean], ctx) {
    const fd = ctx.fds[index];
    if (fd === undefined) throw new SerializationError('Connection handle missing in the child');
    return new Connection(fd, { readable, writable });
  },
});
