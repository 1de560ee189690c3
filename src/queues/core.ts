/**
 * The engine behind Queue, JoinableQueue and SimpleQueue: a multi-producer,
 * multi-consumer queue of encoded items in shared memory, attachable by name
 * from any process or thread of the tree. No feeder thread, no pipe, no
 * helper process.
 *
 * Memory (layout.ts): one block of the shared heap holds a control block
 * (counters and futex words) and a byte ring of length-prefixed records.
 * - Small items (record ≤ INLINE_MAX) are copied into the ring under the
 *   queue's lock and published by advancing the write position: a producer
 *   that dies while writing never exposes a partial item.
 * - Large items get a segment of their own. The producer reserves a small
 *   EXTERN record (state PENDING, its thread id) under the lock, writes the
 *   segment without the lock, then marks the record READY. Consumers wait at
 *   a PENDING head; if its producer has died they drop the record and unlink
 *   whatever it had written. So no orphan segment survives a producer's death.
 * - When the ring has no room, records go to an overflow chain of chunk
 *   segments (numbered, so their names derive from the queue's), and keep
 *   going there until the chain drains: put on an unbounded queue never
 *   waits for a consumer. That is why a producer never needs to flush at
 *   exit, and joining a producer before draining cannot deadlock.
 * - A consumer copies an item out before it advances the read position under
 *   the lock: a consumer that dies inside get loses nothing it did not
 *   receive, and one killed while it waits holds nothing.
 * - The lock is synchronize/'s robust lock word: a waiter takes it over from
 *   a holder that died, and then `repair()` recomputes the counters from the
 *   records (each step of put and get commits with a single store, so the
 *   records are always consistent; only the counters may lag).
 * - Waiting: futex words PUT_SEQ (an item became ready, a writer closed) and
 *   GET_SEQ (an item was taken), bumped before any wake; wakers skip the
 *   syscall when nobody sleeps. The sync API blocks in futexWait, the
 *   Promise API in the backend's waiter thread, after a short spin (a
 *   producer on the other CPU is usually microseconds away).
 */
import { ValueError } from '../errors.js';
import { allocate, attach, createSegment, refOf, type Block, type BlockRef } from '../heap.js';
import { futexWait, futexWake, mapSegment, unlinkSegment, waitAsync, type Segment } from '../native/backend.js';
import { threadAlive, unregister } from '../resource-tracker.js';
import { STOLEN, lockWordAsync, lockWordSync, me, unlockWord } from '../synchronize/common.js';
import type { Encoded } from '../wire/codec.js';
import {
  BLOCK_BYTES, CHUNK_BYTES, CHUNK_HEADER, EXTERN_RECORD, HEADER_BYTES, INLINE_MAX, MAGIC, RECORD_HEADER, RING_BYTES,
  Rec, SMALL_MAX, State, W, align8, frameSize, readFrame, writeFrame, type Frame,
} from './layout.js';

/** A large item taken from the queue: its segment, attached, to copy out after the lock is released. */
export interface ExternItem {
  seg: Segment;
  name: string;
  bytes: number;
}
export type Taken = Frame | ExternItem;

export const EMPTY = Symbol('empty');
export const ENDED = Symbol('ended');
const WAIT = Symbol('wait');
const SKIP = Symbol('skip');
const BUSY = Symbol('busy');

/** While a large item is being written, waiters re-check its producer's liveness this often (ms). */
const PENDING_SLICE_MS = 100;
/** Waits are sliced anyway (a safety net: wakes are not expected to be lost). */
const IDLE_SLICE_MS = 1000;
/** Spin before sleeping, sync and async APIs (ms). */
const SPIN_SYNC_MS = 0.05;
const SPIN_ASYNC_MS = 0.02;
/** Lock attempts before the async path sleeps on the lock word. */
const LOCK_SPIN = 2000;

interface Chunk {
  seg: Segment;
  i32: Int32Array;
  u8: Uint8Array;
}

/** Where a record goes: byte `at` of the memory seen through i32/u8; `chunk` -1 for the ring. */
interface Place {
  i32: Int32Array;
  u8: Uint8Array;
  at: number;
  chunk: number;
  pos: number;
}

/** A large item's reserved record: word `w` of `i32`; `name` is its own segment's, for EXTERN records. */
interface Slot {
  i32: Int32Array;
  u8: Uint8Array;
  w: number;
  name: string | null;
}

export type QueueKind = 0 | 1 | 2; // Queue, JoinableQueue, SimpleQueue

/** Writer handles of this process (thread): their writer count is released when it ends. */
const liveWriters = new Set<QueueCore>();

export function releaseWriters(): void {
  for (const core of liveWriters) core.releaseWriter();
  liveWriters.clear();
}

export class QueueCore {
  readonly block: Block;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** Word index of the control block in the arena. */
  readonly h: number;
  /** Byte offset of the ring in the arena. */
  readonly ring: number;
  readonly cap: number;
  /** Names of this queue's chunks (`…c<n>`) and large items (`…x<id>`). */
  readonly prefix: string;
  readonly seg: Segment;
  #chunks = new Map<number, Chunk>();
  #writer = false;

  private constructor(block: Block) {
    this.block = block;
    this.i32 = block.arena.i32;
    this.u8 = block.arena.u8;
    this.seg = block.arena.segment;
    this.h = block.offset >> 2;
    this.ring = block.offset + HEADER_BYTES;
    this.cap = this.i32[this.h + W.CAPACITY]!;
    const nonce = (this.i32[this.h + W.NONCE]! >>> 0).toString(36);
    this.prefix = `${block.arena.name}.q${block.offset.toString(36)}_${nonce}`;
  }

  static create(maxsize: number, kind: QueueKind, owner: object): QueueCore {
    const block = allocate(BLOCK_BYTES, owner);
    const a = block.arena.i32;
    const h = block.offset >> 2;
    a[h + W.OVF_HEAD] = 1;
    a[h + W.OVF_TAIL] = 0;
    a[h + W.MAXSIZE] = maxsize;
    a[h + W.CAPACITY] = RING_BYTES;
    a[h + W.NONCE] = (Math.random() * 0x7fffffff) | 0;
    a[h + W.KIND] = kind;
    Atomics.store(a, h + W.MAGIC, MAGIC);
    return new QueueCore(block);
  }

  static attach(ref: BlockRef): QueueCore {
    const block = attach(ref);
    if (Atomics.load(block.arena.i32, (block.offset >> 2) + W.MAGIC) !== MAGIC) {
      throw new ValueError(`no queue at ${ref[0]}+${ref[1]}`);
    }
    return new QueueCore(block);
  }

  ref(): BlockRef {
    return refOf(this.block);
  }

  get maxsize(): number {
    return this.i32[this.h + W.MAXSIZE]!;
  }
  get kind(): QueueKind {
    return this.i32[this.h + W.KIND]! as QueueKind;
  }

  ld(w: W): number {
    return Atomics.load(this.i32, this.h + w);
  }
  #st(w: W, v: number): void {
    Atomics.store(this.i32, this.h + w, v);
  }
  #add(w: W, d: number): number {
    return Atomics.add(this.i32, this.h + w, d);
  }

  qsize(): number {
    return this.ld(W.COUNT);
  }
  full(): boolean {
    const m = this.ld(W.MAXSIZE);
    return m > 0 && this.ld(W.COUNT) + this.ld(W.PENDING) >= m;
  }
  /** Closed by some handle, no writer left open, nothing left: async iteration ends. */
  ended(): boolean {
    return this.ld(W.WRITERS) === 0 && this.ld(W.CLOSED) > 0 && this.ld(W.COUNT) === 0 && this.ld(W.PENDING) === 0;
  }

  // ---- the lock ----------------------------------------------------------------------
  #tryLock(): boolean {
    return Atomics.compareExchange(this.i32, this.h + W.LOCK, 0, me()) === 0;
  }

  lockSync(): void {
    if (this.#tryLock()) return;
    if (lockWordSync(this.block.arena, this.h + W.LOCK, Infinity) === STOLEN) this.#repair();
  }

  async lockAsync(): Promise<void> {
    const a = this.i32;
    const i = this.h + W.LOCK;
    for (let k = 0; k < LOCK_SPIN; k++) {
      if (Atomics.load(a, i) === 0 && this.#tryLock()) return;
    }
    if ((await lockWordAsync(this.block.arena, i, Infinity)) === STOLEN) this.#repair();
  }

  unlock(): void {
    const self = me();
    if (Atomics.compareExchange(this.i32, this.h + W.LOCK, self, 0) === self) return;
    unlockWord(this.block.arena, this.h + W.LOCK);
  }

  // ---- writers and closing -----------------------------------------------------------
  #becomeWriter(): void {
    if (this.#writer) return;
    this.#writer = true;
    this.#add(W.WRITERS, 1);
    liveWriters.add(this);
  }

  /** This handle is closed (or its process ends): it no longer counts as an open writer. */
  releaseWriter(): void {
    if (this.#writer) {
      this.#writer = false;
      this.#add(W.WRITERS, -1);
      liveWriters.delete(this);
    }
    this.#add(W.CLOSED, 1);
    this.#add(W.PUT_SEQ, 1);
    this.#wake(W.PUT_SEQ, W.GET_WAITERS);
  }

  // ---- put ---------------------------------------------------------------------------
  /** Put a small item now if the lock is free and there is room: false otherwise (then use putSync/putAsync). */
  putNow(enc: Encoded): boolean {
    const bytes = frameSize(enc);
    const size = align8(RECORD_HEADER + bytes);
    if (size > SMALL_MAX || !this.#tryLock()) return false;
    let ok: boolean;
    try {
      ok = this.#putSmallLocked(enc, size);
    } finally {
      this.unlock();
    }
    if (ok) this.#wake(W.PUT_SEQ, W.GET_WAITERS);
    return ok;
  }

  /** Put, blocking the thread while a bounded queue is full; false if `deadline` passed first. */
  putSync(enc: Encoded, deadline: number): boolean {
    const bytes = frameSize(enc);
    for (;;) {
      const seq = this.ld(W.GET_SEQ);
      this.lockSync();
      const r = this.#placeLocked(enc, bytes);
      if (r === true || r === null) {
        if (r) this.#wake(W.PUT_SEQ, W.GET_WAITERS);
        else {
          const left = deadline - performance.now();
          if (left <= 0) return false;
          this.#sleepSync(W.GET_SEQ, W.PUT_WAITERS, seq, Math.min(left, IDLE_SLICE_MS), SPIN_SYNC_MS);
          continue;
        }
        return true;
      }
      this.#fill(r, enc, bytes);
      return true;
    }
  }

  /** The same without blocking the thread. */
  async putAsync(enc: Encoded, deadline: number): Promise<boolean> {
    const bytes = frameSize(enc);
    for (;;) {
      const seq = this.ld(W.GET_SEQ);
      if (!this.#tryLock()) await this.lockAsync();
      const r = this.#placeLocked(enc, bytes);
      if (r === true) {
        this.#wake(W.PUT_SEQ, W.GET_WAITERS);
        return true;
      }
      if (r !== null) {
        this.#fill(r, enc, bytes);
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await this.#sleepAsync(W.GET_SEQ, W.PUT_WAITERS, seq, Math.min(left, IDLE_SLICE_MS), SPIN_ASYNC_MS);
    }
  }

  /**
   * Called with the lock held; releases it. A small item is written at once
   * (true); a large one gets a PENDING record (its Slot, to fill); null when a
   * bounded queue is full.
   */
  #placeLocked(enc: Encoded, bytes: number): true | Slot | null {
    try {
      const size = align8(RECORD_HEADER + bytes);
      if (size <= SMALL_MAX) return this.#putSmallLocked(enc, size) ? true : null;
      if (this.full()) return null;
      return size <= INLINE_MAX ? this.#reserveLocked(size, -1, bytes) : this.#reserveLocked(EXTERN_RECORD, this.#add(W.EXTERN_NEXT, 1) >>> 0, bytes);
    } finally {
      this.unlock();
    }
  }

  #putSmallLocked(enc: Encoded, size: number): boolean {
    if (this.full()) return false;
    this.#becomeWriter();
    const p = this.#room(size);
    const w = p.at >> 2;
    p.i32[w] = size;
    p.i32[w + 1] = Rec.INLINE;
    p.i32[w + 2] = State.READY;
    p.i32[w + 3] = 0;
    writeFrame(p.u8, p.i32, p.at + RECORD_HEADER, enc);
    this.#commit(p, size);
    this.#add(W.COUNT, 1);
    this.#add(W.UNFINISHED, 1);
    this.#add(W.PUT_SEQ, 1);
    return true;
  }

  /** Lock held: a PENDING record for a large item (inline of `size` bytes, or EXTERN when `id` >= 0). */
  #reserveLocked(size: number, id: number, bytes: number): Slot {
    this.#becomeWriter();
    const p = this.#room(size);
    const w = p.at >> 2;
    p.i32[w] = size;
    p.i32[w + 1] = id < 0 ? Rec.INLINE : Rec.EXTERN;
    p.i32[w + 2] = State.PENDING;
    p.i32[w + 3] = me();
    if (id >= 0) {
      p.i32[w + 4] = id;
      p.i32[w + 5] = bytes;
    }
    this.#commit(p, size);
    this.#add(W.PENDING, 1);
    this.#add(W.UNFINISHED, 1);
    return { i32: p.i32, u8: p.u8, w, name: id < 0 ? null : this.#externName(id) };
  }

  #externName(id: number): string {
    return `${this.prefix}x${id.toString(36)}`;
  }

  /** Write a reserved large item (no lock held), then mark it READY; abandon it if writing fails. */
  #fill(slot: Slot, enc: Encoded, bytes: number): void {
    let seg: Segment | undefined;
    try {
      if (slot.name === null) {
        writeFrame(slot.u8, slot.i32, slot.w * 4 + RECORD_HEADER, enc);
      } else {
        seg = createSegment(align8(bytes), slot.name);
        writeFrame(new Uint8Array(seg.buffer), new Int32Array(seg.buffer), 0, enc);
      }
    } catch (err) {
      this.lockSync();
      try {
        if (Atomics.load(slot.i32, slot.w + 2) === State.PENDING) this.#abandonLocked(slot.i32, slot.w);
      } finally {
        this.unlock();
      }
      seg?.unmap();
      this.#wake(W.GET_SEQ, W.PUT_WAITERS);
      this.#wake(W.PUT_SEQ, W.GET_WAITERS);
      throw err;
    }
    this.lockSync();
    try {
      Atomics.store(slot.i32, slot.w + 2, State.READY);
      this.#add(W.PENDING, -1);
      this.#add(W.COUNT, 1);
      this.#add(W.PUT_SEQ, 1);
    } finally {
      this.unlock();
    }
    seg?.unmap();
    this.#wake(W.PUT_SEQ, W.GET_WAITERS);
  }

  /** Lock held: a record of `size` bytes, in the ring unless overflow is active or the ring is full. */
  #room(size: number): Place {
    if (this.ld(W.OVF_TAIL) < this.ld(W.OVF_HEAD)) {
      if (this.#chunks.size) this.#prune();
      const pos = this.#ringRoom(size);
      if (pos >= 0) return { i32: this.i32, u8: this.u8, at: this.ring + (pos % this.cap), chunk: -1, pos };
    }
    return this.#chunkRoom(size);
  }

  #commit(p: Place, size: number): void {
    if (p.chunk < 0) this.#st(W.WR, (p.pos + size) % (2 * this.cap));
    else Atomics.store(p.i32, 0, p.at + size);
  }

  /** Ring position for `size` bytes, or -1 when the ring has no room. */
  #ringRoom(size: number): number {
    const cap = this.cap;
    const two = 2 * cap;
    const wr = this.ld(W.WR);
    const rd = this.ld(W.RD);
    const used = (wr - rd + two) % two;
    const off = wr % cap;
    const tail = cap - off;
    if (used === 0 ? off === 0 : size <= tail) return used + size <= cap ? wr : -1;
    // Fill the end of the ring and continue at its start: when the ring is
    // empty, always (the pages at its start are warm; a queue whose
    // consumers keep up touches only a few of them).
    if (used !== 0 && used + tail + size > cap) return -1;
    const w = (this.ring + off) >> 2;
    this.i32[w] = tail;
    this.i32[w + 1] = Rec.WRAP;
    const next = (wr + tail) % two;
    this.#st(W.WR, next);
    if (used === 0) this.#st(W.RD, next); // nothing to read: skip the filler at once
    return next;
  }

  #chunkRoom(size: number): Place {
    const head = this.ld(W.OVF_HEAD);
    const tail = this.ld(W.OVF_TAIL);
    if (tail >= head) {
      const c = this.#chunk(tail);
      const w = Atomics.load(c.i32, 0);
      if (w + size <= c.seg.size) return { i32: c.i32, u8: c.u8, at: w, chunk: tail, pos: 0 };
    }
    const n = tail + 1;
    const c = this.#newChunk(n, Math.max(CHUNK_BYTES, CHUNK_HEADER + size));
    this.#st(W.OVF_TAIL, n); // an empty chunk is a valid tail
    return { i32: c.i32, u8: c.u8, at: CHUNK_HEADER, chunk: n, pos: 0 };
  }

  #chunkName(n: number): string {
    return `${this.prefix}c${n.toString(36)}`;
  }

  #newChunk(n: number, size: number): Chunk {
    const name = this.#chunkName(n);
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

  #chunk(n: number): Chunk {
    let c = this.#chunks.get(n);
    if (!c) {
      const seg = mapSegment(this.#chunkName(n), 0, { create: false });
      c = { seg, i32: new Int32Array(seg.buffer), u8: new Uint8Array(seg.buffer) };
      this.#chunks.set(n, c);
    }
    return c;
  }

  /** Unmap chunks that consumers have retired. */
  #prune(): void {
    const head = this.ld(W.OVF_HEAD);
    for (const [n, c] of this.#chunks) {
      if (n < head) {
        this.#chunks.delete(n);
        c.seg.unmap();
      }
    }
  }

  /** Lock held: chunk `n` is consumed; retire it. */
  #retireChunk(n: number): void {
    this.#st(W.OVF_HEAD, n + 1);
    const c = this.#chunks.get(n);
    this.#chunks.delete(n);
    discard(this.#chunkName(n));
    c?.seg.unmap();
  }

  // ---- get ---------------------------------------------------------------------------
  /** Take an item now if one is ready and the lock is free; EMPTY/BUSY otherwise. */
  takeNow(): Taken | typeof EMPTY | typeof BUSY {
    if (this.ld(W.COUNT) === 0) return EMPTY;
    if (!this.#tryLock()) return BUSY;
    let r: Taken | typeof EMPTY | typeof WAIT;
    try {
      r = this.#takeLocked();
    } finally {
      this.unlock();
    }
    if (r === WAIT || r === EMPTY) return EMPTY;
    this.#wake(W.GET_SEQ, W.PUT_WAITERS);
    return r;
  }

  /** Take an item, blocking the thread; null when `deadline` passed, ENDED (with untilEnd) when closed and drained. */
  takeSync(deadline: number, untilEnd = false): Taken | null | typeof ENDED {
    for (;;) {
      const seq = this.ld(W.PUT_SEQ);
      let pendingHead = false;
      if (this.ld(W.COUNT) > 0 || this.ld(W.PENDING) > 0) {
        this.lockSync();
        let r: Taken | typeof EMPTY | typeof WAIT;
        try {
          r = this.#takeLocked();
        } finally {
          this.unlock();
        }
        if (r === WAIT) pendingHead = true;
        else if (r !== EMPTY) {
          this.#wake(W.GET_SEQ, W.PUT_WAITERS);
          return r;
        }
      }
      if (untilEnd && this.ended()) return ENDED;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const slice = pendingHead || this.ld(W.PENDING) > 0 ? PENDING_SLICE_MS : IDLE_SLICE_MS;
      this.#sleepSync(W.PUT_SEQ, W.GET_WAITERS, seq, Math.min(left, slice), pendingHead ? 0 : SPIN_SYNC_MS);
    }
  }

  /** The same without blocking the thread (`isOpen` is re-checked after every wait). */
  async takeAsync(deadline: number, untilEnd = false, isOpen?: () => boolean): Promise<Taken | null | typeof ENDED> {
    for (;;) {
      const seq = this.ld(W.PUT_SEQ);
      let pendingHead = false;
      if (this.ld(W.COUNT) > 0 || this.ld(W.PENDING) > 0) {
        if (!this.#tryLock()) await this.lockAsync();
        let r: Taken | typeof EMPTY | typeof WAIT;
        try {
          r = this.#takeLocked();
        } finally {
          this.unlock();
        }
        if (r === WAIT) pendingHead = true;
        else if (r !== EMPTY) {
          this.#wake(W.GET_SEQ, W.PUT_WAITERS);
          return r;
        }
      }
      if (untilEnd && (this.ended() || (isOpen && !isOpen()))) return ENDED;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const slice = pendingHead || this.ld(W.PENDING) > 0 ? PENDING_SLICE_MS : IDLE_SLICE_MS;
      await this.#sleepAsync(W.PUT_SEQ, W.GET_WAITERS, seq, Math.min(left, slice), pendingHead ? 0 : SPIN_ASYNC_MS);
    }
  }

  /** Lock held: the next ready item, EMPTY, or WAIT when a live producer is still writing the head item. */
  #takeLocked(): Taken | typeof EMPTY | typeof WAIT {
    const cap = this.cap;
    const two = 2 * cap;
    for (;;) {
      const rd = this.ld(W.RD);
      if (rd !== this.ld(W.WR)) {
        const at = this.ring + (rd % cap);
        const w = at >> 2;
        const size = this.i32[w]!;
        const r = this.#recordAt(this.i32, this.u8, w);
        if (r === WAIT) return WAIT;
        this.#st(W.RD, (rd + size) % two); // the item is ours only now: it was copied out first
        if (r === SKIP) continue;
        this.#taken();
        return r;
      }
      const head = this.ld(W.OVF_HEAD);
      const tail = this.ld(W.OVF_TAIL);
      if (tail < head) return EMPTY;
      const c = this.#chunk(head);
      const roff = c.i32[1]!;
      const woff = Atomics.load(c.i32, 0);
      if (roff >= woff) {
        this.#retireChunk(head); // consumed (if it is the tail, overflow ends: back to the ring)
        if (head === tail) return EMPTY;
        continue;
      }
      const size = c.i32[roff >> 2]!;
      const r = this.#recordAt(c.i32, c.u8, roff >> 2);
      if (r === WAIT) return WAIT;
      Atomics.store(c.i32, 1, roff + size);
      // Drained for now: retire the chunk at once (if it was the tail, the next put goes back to the ring).
      if (roff + size >= woff) this.#retireChunk(head);
      if (r === SKIP) continue;
      this.#taken();
      return r;
    }
  }

  #taken(): void {
    this.#add(W.COUNT, -1);
    this.#add(W.GET_SEQ, 1);
  }

  /** Lock held: the record at word `w`: its item (copied out, or its segment attached), WAIT or SKIP. */
  #recordAt(i32: Int32Array, u8: Uint8Array, w: number): Taken | typeof WAIT | typeof SKIP {
    const type = i32[w + 1];
    if (type === Rec.WRAP) return SKIP;
    const state = Atomics.load(i32, w + 2);
    if (state === State.DEAD) return SKIP;
    if (state === State.PENDING) {
      if (threadAlive(i32[w + 3]!)) return WAIT;
      this.#abandonLocked(i32, w); // its producer died while writing it
      this.#wake(W.GET_SEQ, W.PUT_WAITERS);
      return SKIP;
    }
    if (type === Rec.INLINE) return readFrame(u8, i32, w * 4 + RECORD_HEADER);
    const name = this.#externName(i32[w + 4]! >>> 0);
    try {
      return { seg: mapSegment(name, 0, { create: false }), name, bytes: i32[w + 5]! >>> 0 };
    } catch {
      // Gone (cannot happen unless someone unlinked it by hand): the item is lost; do not wedge the queue.
      this.#add(W.COUNT, -1);
      if (this.ld(W.UNFINISHED) > 0) this.#add(W.UNFINISHED, -1);
      return SKIP;
    }
  }

  #abandonLocked(i32: Int32Array, w: number): void {
    Atomics.store(i32, w + 2, State.DEAD);
    this.#add(W.PENDING, -1);
    if (this.ld(W.UNFINISHED) > 0) this.#add(W.UNFINISHED, -1);
    this.#add(W.GET_SEQ, 1); // a slot of a bounded queue is free again
    this.#add(W.PUT_SEQ, 1); // consumers waiting at this record move on
    if (i32[w + 1] === Rec.EXTERN) discard(this.#externName(i32[w + 4]! >>> 0));
  }

  /** Copy a large item out of its segment (after the lock was released) and remove the segment. */
  finishExtern(item: ExternItem): Frame {
    discard(item.name); // the mapping stays valid
    try {
      return readFrame(new Uint8Array(item.seg.buffer), new Int32Array(item.seg.buffer), 0);
    } finally {
      item.seg.unmap();
    }
  }

  // ---- JoinableQueue -------------------------------------------------------------------
  taskDone(): boolean {
    const a = this.i32;
    const i = this.h + W.UNFINISHED;
    let v = Atomics.load(a, i);
    for (;;) {
      if (v <= 0) return false;
      const w = Atomics.compareExchange(a, i, v, v - 1);
      if (w === v) break;
      v = w;
    }
    if (v === 1 && this.ld(W.JOIN_WAITERS) > 0) futexWake(this.seg, i * 4, Infinity);
    return true;
  }

  async join(): Promise<void> {
    for (;;) {
      const v = this.ld(W.UNFINISHED);
      if (v <= 0) return;
      this.#add(W.JOIN_WAITERS, 1);
      try {
        await waitAsync(this.seg, (this.h + W.UNFINISHED) * 4, v, IDLE_SLICE_MS);
      } finally {
        this.#add(W.JOIN_WAITERS, -1);
      }
    }
  }

  joinSync(): void {
    for (;;) {
      const v = this.ld(W.UNFINISHED);
      if (v <= 0) return;
      this.#add(W.JOIN_WAITERS, 1);
      try {
        futexWait(this.seg, (this.h + W.UNFINISHED) * 4, v, IDLE_SLICE_MS);
      } finally {
        this.#add(W.JOIN_WAITERS, -1);
      }
    }
  }

  // ---- waiting -------------------------------------------------------------------------
  /** Wake every thread sleeping on `word` (whose sleepers count is `waiters`); the word has changed already. */
  #wake(word: W, waiters: W): void {
    if (this.ld(waiters) > 0) futexWake(this.seg, (this.h + word) * 4, Infinity);
  }

  #spin(word: W, seq: number, ms: number): boolean {
    if (ms <= 0) return false;
    const a = this.i32;
    const i = this.h + word;
    const end = performance.now() + ms;
    for (;;) {
      for (let k = 0; k < 200; k++) if (Atomics.load(a, i) !== seq) return true;
      if (performance.now() >= end) return false;
    }
  }

  #sleepSync(word: W, waiters: W, seq: number, ms: number, spinMs: number): void {
    if (this.#spin(word, seq, Math.min(spinMs, ms))) return;
    this.#add(waiters, 1);
    try {
      futexWait(this.seg, (this.h + word) * 4, seq, ms);
    } finally {
      this.#add(waiters, -1);
    }
  }

  async #sleepAsync(word: W, waiters: W, seq: number, ms: number, spinMs: number): Promise<void> {
    if (this.#spin(word, seq, Math.min(spinMs, ms))) return;
    this.#add(waiters, 1);
    try {
      await waitAsync(this.seg, (this.h + word) * 4, seq, ms);
    } finally {
      this.#add(waiters, -1);
    }
  }

  // ---- recovery ------------------------------------------------------------------------
  /** The lock was taken over from a holder that died: recompute the counters from the records. */
  #repair(): void {
    let count = 0;
    let pending = 0;
    const tally = (i32: Int32Array, w: number): void => {
      if (i32[w + 1] === Rec.WRAP) return;
      const state = Atomics.load(i32, w + 2);
      if (state === State.READY) count++;
      else if (state === State.PENDING) pending++;
    };
    const cap = this.cap;
    const two = 2 * cap;
    const wr = this.ld(W.WR);
    for (let rd = this.ld(W.RD), guard = 0; rd !== wr && guard < cap; guard++) {
      const w = (this.ring + (rd % cap)) >> 2;
      const size = this.i32[w]!;
      if (size <= 0 || size % 8 !== 0) break;
      tally(this.i32, w);
      rd = (rd + size) % two;
    }
    const head = this.ld(W.OVF_HEAD);
    const tail = this.ld(W.OVF_TAIL);
    for (let n = head; n <= tail; n++) {
      let c: Chunk;
      try {
        c = this.#chunk(n);
      } catch {
        continue;
      }
      const woff = Atomics.load(c.i32, 0);
      for (let off = c.i32[1]!; off < woff;) {
        const size = c.i32[off >> 2]!;
        if (size <= 0 || size % 8 !== 0) break;
        tally(c.i32, off >> 2);
        off += size;
      }
    }
    this.#st(W.COUNT, count);
    this.#st(W.PENDING, pending);
    if (this.ld(W.UNFINISHED) < count + pending) this.#st(W.UNFINISHED, count + pending);
    // A chunk retired by a consumer that died before removing it.
    if (head > 1) discard(this.#chunkName(head - 1));
    this.#add(W.PUT_SEQ, 1);
    this.#add(W.GET_SEQ, 1);
    this.#wake(W.PUT_SEQ, W.GET_WAITERS);
    this.#wake(W.GET_SEQ, W.PUT_WAITERS);
  }
}

/** Remove a segment name this queue created (from any process); quiet if it is gone. */
function discard(name: string): void {
  try {
    unlinkSegment(name);
  } catch {
    return;
  }
  unregister(name);
}

export { BUSY };
