/**
 * Framing shared by every byte stream billiard speaks over:
 * `u32 LE payload length | u8 tag | payload`.
 */

export const HEADER_SIZE = 5;
/** Largest payload one frame can carry. */
export const MAX_FRAME = 0xffff_ffff;

export const enum Tag {
  /** Raw bytes from sendBytes. */
  Bytes = 0,
  /** A codec-encoded value. */
  Object = 1,
  /** A large binary view belonging to the next Object frame. */
  Attachment = 2,
  /** Control messages of the process channel start here. */
  Control = 16,
}

export interface Frame {
  tag: number;
  payload: Buffer;
}

export function frameHeader(tag: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32LE(length, 0);
  header[4] = tag;
  return header;
}

/**
 * Cuts a byte stream into frames. Chunks are kept as they arrive and joined
 * only when a frame spans them, so large payloads are copied once.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Largest payload accepted; a longer header is an error (a hostile or broken peer). */
  constructor(public maxPayload = MAX_FRAME) {}

  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Length and tag of the next frame, if its header has arrived. */
  peekHeader(): { length: number; tag: number } | undefined {
    if (this.buffered < HEADER_SIZE) return undefined;
    const head = this.contiguous(HEADER_SIZE);
    return { length: head.readUInt32LE(0), tag: head[4]! };
  }

  /**
   * True when a whole frame is buffered, or a header over the limit (next()
   * then throws at once: nothing waits for, or buffers, a refused payload).
   */
  hasFrame(): boolean {
    const header = this.peekHeader();
    return header !== undefined && (header.length > this.maxPayload || this.buffered >= HEADER_SIZE + header.length);
  }

  /** The next whole frame, or undefined. Throws on a length over the limit. */
  next(): Frame | undefined {
    const header = this.peekHeader();
    if (!header) return undefined;
    if (header.length > this.maxPayload) {
      throw new RangeError(`frame of ${header.length} bytes exceeds the limit of ${this.maxPayload}`);
    }
    if (this.buffered < HEADER_SIZE + header.length) return undefined;
    this.take(HEADER_SIZE);
    return { tag: header.tag, payload: this.take(header.length) };
  }

  private contiguous(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
