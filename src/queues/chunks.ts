/**
 * A queue's overflow chain: chunk segments numbered 1, 2, … whose names
 * derive from the queue's, mapped on demand and cached per handle. Chunk
 * layout: [write offset, read offset, …] then records from CHUNK_HEADER.
 */
import { createSegment } from '../heap.js';
import { mapSegment, type Segment } from '../native/backend.js';
import { discard } from './control.js';
import { CHUNK_HEADER } from './layout.js';

export interface Chunk {
  seg: Segment;
  i32: Int32Array;
  u8: Uint8Array;
}

export class ChunkChain {
  readonly #chunks = new Map<number, Chunk>();

  constructor(readonly prefix: string) {}

  get size(): number {
    return this.#chunks.size;
  }

  name(n: number): string {
    return `${this.prefix}c${n.toString(36)}`;
  }

  create(n: number, size: number): Chunk {
    const name = this.name(n);
    let seg: Segment;
    try {
      seg = createSegment(size, name);
    } catch (err) {
      if ((err as { errno?: string }).errno !== 'EEXIST') throw err;
      // Left by a producer that died before it linked the chunk in.
      discard(name);
      seg = createSegment(size, name);
    }
    const c: Chunk = { seg, i32: new Int32Array(seg.buffer), u8: new Uint8Array(seg.buffer) };
    c.i32[0] = CHUNK_HEADER;
    c.i32[1] = CHUNK_HEADER;
    this.#chunks.set(n, c);
    return c;
  }

  get(n: number): Chunk {
    let c = this.#chunks.get(n);
    if (!c) {
      const seg = mapSegment(this.name(n), 0, { create: false });
      c = { seg, i32: new Int32Array(seg.buffer), u8: new Uint8Array(seg.buffer) };
      this.#chunks.set(n, c);
    }
    return c;
  }

  /** Unmap chunks that consumers have retired (those before `head`). */
  prune(head: number): void {
    for (const [n, c] of this.#chunks) {
      if (n < head) {
        this.#chunks.delete(n);
        c.seg.unmap();
      }
    }
  }

  /** Chunk `n` is consumed: remove it. */
  drop(n: number): void {
    const c = this.#chunks.get(n);
    this.#chunks.delete(n);
    discard(this.name(n));
    c?.seg.unmap();
  }
}
