/**
 * A framed, bidirectional byte channel over one socket fd, readable both
 * asynchronously (the event loop) and synchronously (poll + read on the fd,
 * for CPU-bound code that blocks its thread). Both read paths append to the
 * same parser, and libuv reads only while the event loop runs, so the byte
 * order is kept whichever path a caller uses.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { isMainThread } from 'node:worker_threads';
import { pollFd } from '../native/fd.js';
import { OSError } from '../errors.js';
import { FrameParser, type Frame } from './frames.js';
import { FrameWriter, flushAllSync } from './writer.js';

/** Stop reading from the kernel when this much is buffered and nobody is waiting. */
const READ_HIGH_WATER = 4 * 1024 * 1024;
const SYNC_READ_SIZE = 256 * 1024;

/** One read buffer per thread: small reads are copied out, large ones keep it and a new one is made. */
let scratch = Buffer.allocUnsafe(SYNC_READ_SIZE);

function takeScratch(n: number): Buffer {
  if (n < 64 * 1024) return Buffer.from(scratch.subarray(0, n));
  const chunk = scratch.subarray(0, n);
  scratch = Buffer.allocUnsafe(SYNC_READ_SIZE);
  return chunk;
}

interface Waiter {
  resolve: (frame: Frame | null) => void;
  reject: (err: Error) => void;
}

export class FrameChannel {
  private socket: net.Socket | null = null;
  private readonly parser: FrameParser;
  private readonly waiters: Waiter[] = [];
  private readonly writer: FrameWriter;
  private ended = false;
  private readError: Error | null = null;
  private closedFlag = false;
  private keepAlive = false;
  /** Called when the peer's end closes (EOF) or the channel fails. */
  onClose: (() => void) | null = null;
  private endWaiters: Array<() => void> = [];
  /** Push mode: every frame goes to this handler as it arrives (no promise per frame). */
  private frameHandler: ((frame: Frame) => void) | null = null;

  constructor(readonly fd: number, opts: { maxPayload?: number } = {}) {
    this.parser = new FrameParser(opts.maxPayload);
    this.writer = new FrameWriter(fd, () => this.stream());
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Refuse frames longer than `bytes` (checked on the header, before the payload is read). */
  setMaxPayload(bytes: number): void {
    this.parser.maxPayload = bytes;
  }

  get maxPayload(): number {
    return this.parser.maxPayload;
  }

  /** True once the peer has closed and every buffered frame was read. */
  get atEof(): boolean {
    return this.ended && !this.parser.hasFrame();
  }

  /**
   * Keep the event loop alive while this channel is open, even with no reader
   * waiting (the process channel of a child does this; user connections do not).
   */
  setKeepAlive(on: boolean): void {
    this.keepAlive = on;
    this.updateRef();
  }

  // ---- writing --------------------------------------------------------------
  send(tag: number, payload: Uint8Array, attachments: readonly Uint8Array[] = [], attachmentTag = 2): void {
    if (this.closedFlag) throw new OSError('handle is closed');
    for (const a of attachments) this.writer.writeFrame(attachmentTag, [a]);
    this.writer.writeFrame(tag, [payload]);
  }

  /** Send one frame whose payload is the concatenation of `parts`. */
  sendParts(tag: number, parts: readonly Uint8Array[]): void {
    if (this.closedFlag) throw new OSError('handle is closed');
    this.writer.writeFrame(tag, parts);
  }

  flushSync(): void {
    this.writer.flushSync();
  }

  /** Write what is queued now instead of at the end of the tick. */
  flush(): void {
    this.writer.flush();
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }

  get pendingWrite(): number {
    return this.writer.pending;
  }

  // ---- reading ----------------------------------------------------------------
  /** The next frame, or null at EOF. */
  nextFrame(): Promise<Frame | null> {
    const frame = this.tryFrame();
    if (frame !== undefined) return Promise.resolve(frame);
    return new Promise<Frame | null>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.startReading();
    });
  }

  /** A frame if one is buffered, null at EOF, undefined when one must wait. Throws on a broken stream. */
  tryFrame(): Frame | null | undefined {
    const frame = this.parser.next();
    if (frame) return frame;
    if (this.readError) throw this.readError;
    if (this.ended) return null;
    return undefined;
  }

  /** Header of the next frame without consuming it, once it has fully arrived. */
  peekFrame(): { length: number; tag: number } | undefined {
    return this.parser.hasFrame() ? this.parser.peekHeader() : undefined;
  }

  /** Resolves true when a frame (or EOF) is ready, false after `timeoutMs`. */
  async waitReadable(timeoutMs: number | null): Promise<boolean> {
    if (this.parser.hasFrame() || this.ended || this.readError) return true;
    if (timeoutMs !== null && timeoutMs <= 0) {
      this.startReading();
      return false;
    }
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: () => { clearTimeout(timer); resolve(true); },
        reject: () => { clearTimeout(timer); resolve(true); },
      };
      // A readiness waiter does not consume: it is woken by the same path as readers.
      this.readinessWaiters.push(waiter);
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          const i = this.readinessWaiters.indexOf(waiter);
          if (i >= 0) this.readinessWaiters.splice(i, 1);
          this.updateRef();
          resolve(false);
        }, timeoutMs);
      }
      this.startReading();
    });
  }
  private readonly readinessWaiters: Waiter[] = [];

  /**
   * Block the thread until a frame is ready (true), EOF (true), or the
   * timeout passes (false). Flushes pending writes first, so a peer waiting
   * on our reply is not starved.
   */
  waitReadableSync(timeoutMs: number | null): boolean {
    flushAllSync();
    const deadline = timeoutMs === null ? Infinity : Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      this.pullBuffered();
      if (this.parser.hasFrame() || this.ended || this.readError) return true;
      // An fd libuv never wrapped is still blocking: read() itself waits, no poll needed.
      // (Not in a worker thread: a thread blocked in read() could not be terminated.)
      if (deadline === Infinity && !this.socket && isMainThread) {
        this.readSyncOnce();
        continue;
      }
      const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
      if (!pollFd(this.fd, 'read', left)) {
        if (deadline !== Infinity && Date.now() >= deadline) return false;
        continue;
      }
      this.readSyncOnce();
      if (left === 0 && !this.parser.hasFrame() && !this.ended) return false;
    }
  }

  /** The next frame, blocking the thread; null at EOF. */
  nextFrameSync(): Frame | null {
    this.waitReadableSync(null);
    return this.tryFrame() ?? null;
  }

  private pullBuffered(): void {
    const socket = this.socket;
    if (!socket || socket.readableFlowing) return;
    let chunk: Buffer | null;
    while ((chunk = socket.read()) !== null) this.parser.push(chunk);
  }

  private readSyncOnce(): void {
    try {
      const n = fs.readSync(this.fd, scratch, 0, scratch.length, null);
      if (n === 0) this.ended = true;
      else this.parser.push(takeScratch(n));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') return;
      if (code === 'ECONNRESET') this.ended = true;
      else this.readError = new OSError((err as Error).message, { cause: err, errno: code });
    }
  }

  // ---- the stream -------------------------------------------------------------
  private stream(): net.Socket {
    if (this.socket) return this.socket;
    const socket = new net.Socket({ fd: this.fd, readable: true, writable: true, allowHalfOpen: true });
    this.socket = socket;
    socket.pause();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
    this.updateRef();
    return socket;
  }

  /**
   * Deliver every frame to `handler` synchronously as it arrives, in order,
   * instead of through nextFrame(). Frames already buffered go first.
   */
  onFrame(handler: (frame: Frame) => void): void {
    this.frameHandler = handler;
    this.startReading();
  }

  /** Resolves once the peer has closed its end (or the channel failed or was closed). */
  whenEnded(): Promise<void> {
    if (this.ended || this.readError || this.closedFlag) return Promise.resolve();
    this.listen();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** Read in the background (to notice EOF) without keeping the event loop alive. */
  listen(): void {
    this.startReading();
  }

  private startReading(): void {
    const socket = this.stream();
    this.pullBuffered();
    this.deliver();
    if (!socket.readableFlowing && this.parser.pendingBytes <= READ_HIGH_WATER) socket.resume();
    this.updateRef();
  }

  private onData(chunk: Buffer): void {
    this.parser.push(chunk);
    this.deliver();
    if (this.waiters.length === 0 && this.readinessWaiters.length === 0 && this.parser.pendingBytes > READ_HIGH_WATER) {
      this.socket?.pause();
    }
  }

  /** Hand buffered frames to waiting readers; true when none is left waiting. */
  private deliver(): boolean {
    const handler = this.frameHandler;
    if (handler) {
      let frame: Frame | undefined;
      while (this.frameHandler === handler && (frame = this.parser.next()) !== undefined) handler(frame);
    }
    while (this.waiters.length > 0) {
      let frame: Frame | null | undefined;
      try {
        frame = this.tryFrame();
      } catch (err) {
        for (const w of this.waiters.splice(0)) w.reject(err as Error);
        break;
      }
      if (frame === undefined) break;
      this.waiters.shift()!.resolve(frame);
    }
    if (this.readinessWaiters.length > 0 && (this.parser.hasFrame() || this.ended || this.readError)) {
      for (const w of this.readinessWaiters.splice(0)) w.resolve(null);
    }
    const idle = this.waiters.length === 0 && this.readinessWaiters.length === 0;
    if (idle && this.socket && !this.keepAlive && this.parser.pendingBytes > READ_HIGH_WATER) this.socket.pause();
    this.updateRef();
    return idle;
  }

  private onEnd(): void {
    this.ended = true;
    this.deliver();
    this.settleEnd();
    this.onClose?.();
  }

  private settleEnd(): void {
    for (const resolve of this.endWaiters.splice(0)) resolve();
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
      this.writer.fail(err);
      if (err.code === 'ECONNRESET') this.onEnd();
      return;
    }
    this.readError = new OSError(err.message, { cause: err, errno: err.code });
    this.writer.fail(err);
    this.deliver();
    this.settleEnd();
    this.onClose?.();
  }

  private updateRef(): void {
    const socket = this.socket;
    if (!socket) return;
    const busy = this.keepAlive || this.waiters.length > 0 || this.readinessWaiters.length > 0;
    if (busy && !this.ended) socket.ref();
    else socket.unref();
  }

  /**
   * Close our end: only our file descriptor, as CPython does (no shutdown, so
   * a copy held by a child keeps working). Pending writes still go out first
   * (send() then close() delivers).
   */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const err = new OSError('handle is closed');
    for (const w of this.waiters.splice(0)) w.reject(err);
    for (const w of this.readinessWaiters.splice(0)) w.resolve(null);
    this.settleEnd();
    if (!this.socket && this.writer.pending === 0) {
      try { fs.closeSync(this.fd); } catch { /* already closed */ }
      return;
    }
    const socket = this.stream();
    socket.pause();
    void this.writer.drain().catch(() => undefined).finally(() => socket.destroy());
  }
}

