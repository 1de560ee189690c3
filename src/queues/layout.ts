/**
 * The memory layout of a queue (see core.ts for the protocol), and the
 * *frame*: how one encoded item ({ body, attachments } from the codec) is laid
 * out in bytes, in the ring, in an overflow chunk or in a segment of its own.
 *
 * Frame: i32 bodyLength | i32 attachmentCount | i32 attachmentLength × n |
 *        body bytes | attachment bytes, one after the other.
 */
import type { Encoded } from '../wire/codec.js';

/**
 * Words of the control block (int32 indices from the block's start). The
 * futex words that waiters spin on live on cache lines of their own, so a
 * spinning consumer does not slow down every store of a producer.
 */
export const enum W {
  // ---- line 0: state changed under the lock ----
  /** Robust lock word (synchronize/common.ts): owner thread id | WAITERS. */
  LOCK = 0,
  /** Ring write / read positions, in bytes modulo 2 × CAPACITY. */
  WR = 1,
  RD = 2,
  /** Items ready to be taken (qsize). */
  COUNT = 3,
  /** Large items reserved by a producer that is still writing them. */
  PENDING = 4,
  /** Overflow chunks: HEAD is read, TAIL is written; overflow is active while TAIL >= HEAD. */
  OVF_HEAD = 5,
  OVF_TAIL = 6,
  /** Next id of a large item's own segment. */
  EXTERN_NEXT = 7,
  /** 1 once the handle that created the queue was closed: async iteration ends when the queue is drained. */
  CLOSED = 8,
  MAXSIZE = 9,
  CAPACITY = 10,
  NONCE = 11,
  MAGIC = 12,
  KIND = 13,
  /** Large records claimed by a consumer that is copying them out (TAKING). */
  CLAIMED = 14,
  // ---- line 1 ----
  /** Futex word: changes when an item becomes ready (or the queue is closed). */
  PUT_SEQ = 16,
  /** Set by a thread about to sleep on PUT_SEQ, cleared by the waker (no syscall while 0). */
  GET_WAITERS = 17,
  // ---- line 2 ----
  /** Futex word: changes when an item is taken (room in a bounded queue). */
  GET_SEQ = 32,
  PUT_WAITERS = 33,
  // ---- line 3 ----
  /** JoinableQueue: items put and not yet taskDone()'d; its futex word. */
  UNFINISHED = 48,
  JOIN_WAITERS = 49,
}

export const HEADER_BYTES = 256;
export const MAGIC = 0x51756575; // 'Queu'

/**
 * The heap block of a queue: control block + ring. The ring is large so that
 * items up to INLINE_MAX travel through memory that stays mapped (no
 * per-item segment, no page faults), but it costs only what it holds at its
 * peak: when the ring is empty, the next record starts at its beginning again.
 */
export const BLOCK_BYTES = 8 * 1024 * 1024;
export const RING_BYTES = BLOCK_BYTES - HEADER_BYTES;
/** Records up to this size are written under the queue's lock; larger ones are reserved, then written without it. */
export const SMALL_MAX = 64 * 1024;
/** Records up to this size go into the ring (or a chunk); larger items get a segment of their own. */
export const INLINE_MAX = 2 * 1024 * 1024;
/** Size of an overflow chunk (at least one record). */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Where records start in a chunk: [write offset, read offset, …]. */
export const CHUNK_HEADER = 16;

/**
 * Records: [size in bytes (a multiple of 8), type, state, producer thread id], then
 * INLINE: the frame; EXTERN: [segment id, frame bytes] (the frame is in a segment of its own).
 */
export const enum Rec {
  INLINE = 1,
  EXTERN = 2,
  /** Filler up to the end of the ring: skip to its start. */
  WRAP = 3,
}
export const RECORD_HEADER = 16;
export const EXTERN_RECORD = 32;
export const enum State {
  /** Reserved; its producer is still writing it. */
  PENDING = 0,
  READY = 1,
  /** Abandoned (its producer died or failed): skipped by consumers. */
  DEAD = 2,
  /**
   * A large record at the head, claimed by a consumer (its thread id replaces the
   * producer's) that copies it out without the lock; others wait behind it.
   */
  TAKING = 3,
}

export const align8 = (n: number): number => (n + 7) & ~7;

export function frameSize(enc: Encoded): number {
  let n = 8 + 4 * enc.attachments.length + enc.body.length;
  for (const a of enc.attachments) n += a.byteLength;
  return n;
}

/** Write `enc` as a frame at byte `at` (a multiple of 4) of the memory seen through `u8`/`i32`. */
export function writeFrame(u8: Uint8Array, i32: Int32Array, at: number, enc: Encoded): void {
  const w = at >> 2;
  const atts = enc.attachments;
  i32[w] = enc.body.length;
  i32[w + 1] = atts.length;
  for (let k = 0; k < atts.length; k++) i32[w + 2 + k] = atts[k]!.byteLength;
  let p = at + 8 + 4 * atts.length;
  const body = enc.body;
  if (body.length <= 32) {
    for (let k = 0; k < body.length; k++) u8[p + k] = body[k]!;
  } else {
    u8.set(body, p);
  }
  p += body.length;
  for (const a of atts) {
    u8.set(a, p);
    p += a.byteLength;
  }
}

export interface Frame {
  body: Buffer;
  attachments: Uint8Array[];
}

/** Copy the frame at byte `at` out of shared memory. */
export function readFrame(u8: Uint8Array, i32: Int32Array, at: number): Frame {
  const w = at >> 2;
  const bodyLength = i32[w]! >>> 0;
  const n = i32[w + 1]! >>> 0;
  let p = at + 8 + 4 * n;
  const body = Buffer.from(u8.subarray(p, p + bodyLength));
  p += bodyLength;
  const attachments: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const length = i32[w + 2 + k]! >>> 0;
    // Attachments are large (≥ 64 KiB): their own, uninitialized memory.
    const copy = Buffer.allocUnsafeSlow(length);
    copy.set(u8.subarray(p, p + length));
    attachments.push(copy);
    p += length;
  }
  return { body, attachments };
}
