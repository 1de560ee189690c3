/**
 * The engine behind Queue, JoinableQueue and SimpleQueue: a multi-producer,
 * multi-consumer queue of encoded items in shared memory, attachable by name
 * from any process or thread of the tree (a reducer sends the heap block's
 * name). No feeder thread, no pipe, no helper process, no fd passing.
 *
 * Why: items are encoded (codec.ts) by the caller of put before anything is
 * touched, so an unserializable item rejects its own put and takes no slot;
 * copying bytes into mapped memory (≈ 9 GB/s) and JS Atomics beat a pipe plus
 * a feeder thread (CPython: ≈ 2 semaphore ops, a lock and a pipe write per
 * item); and with no per-process buffer there is nothing to flush at exit.
 *
 * Memory (layout.ts): one 8 MiB block of the shared heap holds a control
 * block (counters, futex words on their own cache lines) and a byte ring of
 * records [size, type, state, thread id | frame]. The ring costs only what it
 * holds at its peak: when it is empty, the next record starts at its start.
 * - Small items (record ≤ SMALL_MAX) are copied in under the queue's lock
 *   and published by advancing the write position with one store: a producer
 *   that dies while writing never exposes a partial item.
 * - Larger items are reserved under the lock as a PENDING record carrying the
 *   producer's thread id, written without the lock, then marked READY.
 *   Records up to INLINE_MAX live in the ring; larger items get a segment of
 *   their own (EXTERN record). Consumers wait at a PENDING head; if its
 *   producer has died they drop it (and unlink its segment): no partial item,
 *   no orphan segment.
 * - A consumer copies a small item out before it advances the read position
 *   (under the lock). A large one it *claims* (TAKING, its thread id), copies
 *   out without the lock, then advances; others wait behind it, and if the
 *   claimer died they take the item themselves. A consumer that dies inside
 *   get loses nothing it did not receive; one killed while it waits holds nothing.
 * - When the ring is full, a put waits for consumers only while they make
 *   progress (SPILL_WAIT_MS at a time); otherwise records go to an overflow
 *   chain of chunk segments (numbered, so names derive from the queue's) and
 *   keep going there until it drains. So a put on an unbounded queue never
 *   waits for consumers that do not consume: joining a producer before
 *   draining cannot deadlock.
 * - The lock is synchronize/'s robust lock word: a waiter takes it over from a
 *   holder that died, and then repair() recomputes the counters from the
 *   records (each step of put and get commits with a single store, so the
 *   records are always consistent; only the counters may lag).
 * - Waiting: futex words PUT_SEQ (an item became ready, the queue was closed)
 *   and GET_SEQ (an item was taken), changed before any wake; a waker makes
 *   the syscall only when a sleeper has flagged itself. The sync API blocks in
 *   futexWait, the Promise API in the backend's waiter thread, after a short
 *   spin (a producer on the other CPU is usually microseconds away).
 * - Segments: the ring's block follows the heap's rules (tracked; unlinked at
 *   exit if never shared, else when the tree ends). Chunks and large items
 *   are tracked by the resource tracker when created and unlinked by whoever
 *   consumes or abandons them.
 */
import { ValueError } from '../errors.js';
import { allocate, attach, createSegment, refOf, type Block, type BlockRef } from '../heap.js';
import { mapSegment, type Segment } from '../native/backend.js';
import { threadAlive } from '../resource-tracker.js';
import { me } from '../synchronize/common.js';
import type { Encoded } from '../wire/codec.js';
import { ChunkChain, type Chunk } from './chunks.js';
import { ControlBlock, discard } from './control.js';
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
/** A large record claimed at the head of the ring or a chunk: copied out after the lock was released. */
export interface Claim {
  i32: Int32Array;
  u8: Uint8Array;
  w: number;
  /** -1: the ring (pos is the ring position); else the chunk's number (pos is the byte offset). */
  chunk: number;
  pos: number;
  size: number;
}
export type Taken = Frame | ExternItem | Claim;

export const EMPTY = Symbol('empty');
export const ENDED = Symbol('ended');
const WAIT = Symbol('wait');
const SKIP = Symbol('skip');
const CLAIM = Symbol('claim');
const NO_ROOM = Symbol('no room');
const BUSY = Symbol('busy');

/** While a large item is being written, waiters re-check its producer's liveness this often (ms). */
const PENDING_SLICE_MS = 100;
/** Waits are sliced anyway (a safety net: wakes are not expected to be lost). */
const IDLE_SLICE_MS = 1000;
/** Spin before sleeping, sync and async APIs (ms). */
const SPIN_SYNC_MS = 0.05;
const SPIN_ASYNC_MS = 0.02;
/** Spin this long when the next item is a large one its producer is still writing (it is usually done soon). */
const SPIN_PENDING_MS = 1;
/**
 * A put that finds the ring full waits for consumers while they make
 * progress at least this often (ms); then it spills into a new overflow chunk
 * (fresh memory costs page faults: worth avoiding while consumers keep up).
 */
const SPILL_WAIT_MS = 2;

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

export class QueueCore extends ControlBlock {
  /** Byte offset of the ring in the arena. */
  readonly ring: number;
  readonly cap: number;
  /** Names of this queue's chunks (`…c<n>`) and large items (`…x<id>`). */
  readonly prefix: string;
  readonly #chain: ChunkChain;

  private constructor(block: Block) {
    super(block);
    this.ring = block.offset + HEADER_BYTES;
    this.cap = this.i32[this.h + W.CAPACITY]!;
    const nonce = (this.i32[this.h + W.NONCE]! >>> 0).toString(36);
    this.prefix = `${block.arena.name}.q${block.offset.toString(36)}_${nonce}`;
    this.#chain = new ChunkChain(this.prefix);
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

  qsize(): number {
    return this.ld(W.COUNT);
  }
  full(): boolean {
    const m = this.ld(W.MAXSIZE);
    return m > 0 && this.ld(W.COUNT) + this.ld(W.PENDING) >= m;
  }
  /** Nothing ready and nothing being written. */
  drained(): boolean {
    return this.ld(W.COUNT) === 0 && this.ld(W.PENDING) === 0 && this.ld(W.CLAIMED) === 0;
  }
  /** The creating handle was closed (async iteration ends once drained). */
  get closed(): boolean {
    return this.ld(W.CLOSED) !== 0;
  }

  // ---- closing ------------------------------------------------------------------------
  /** Mark the queue closed for async iteration, and wake every waiting consumer to see it. */
  close(): void {
    this.st(W.CLOSED, 1);
    this.add(W.PUT_SEQ, 1);
    this.wake(W.PUT_SEQ, W.GET_WAITERS);
  }

  /** Wake this queue's waiting consumers (so that they re-check a handle's state). */
  nudge(): void {
    this.add(W.PUT_SEQ, 1);
    this.wake(W.PUT_SEQ, W.GET_WAITERS);
  }

  // ---- put ---------------------------------------------------------------------------
  /** Put a small item now if the lock is free and there is room: false otherwise (then use putSync/putAsync). */
  putNow(enc: Encoded): boolean {
    const bytes = frameSize(enc);
    const size = align8(RECORD_HEADER + bytes);
    if (size > SMALL_MAX || !this.tryLock()) return false;
    let r: boolean | typeof NO_ROOM;
    try {
      r = this.#putSmallLocked(enc, size, false);
    } finally {
      this.unlock();
    }
    if (r === true) this.wake(W.PUT_SEQ, W.GET_WAITERS);
    return r === true;
  }

  /**
   * Put, blocking the thread while a bounded queue is full; false if
   * `deadline` passed first. When the ring is full, wait for consumers as
   * long as they make progress (SPILL_WAIT_MS at a time), then spill into a
   * new overflow chunk: a put never waits for consumers that do not consume.
   */
  putSync(enc: Encoded, deadline: number): boolean {
    const bytes = frameSize(enc);
    let spill = deadline === 0;
    for (;;) {
      const seq = this.ld(W.GET_SEQ);
      this.lockSync();
      const r = this.#placeLocked(enc, bytes, spill);
      if (r === true) {
        this.wake(W.PUT_SEQ, W.GET_WAITERS);
        return true;
      }
      if (r === NO_ROOM) {
        this.sleepSync(W.GET_SEQ, W.PUT_WAITERS, seq, SPILL_WAIT_MS, SPIN_SYNC_MS);
        if (this.ld(W.GET_SEQ) === seq) spill = true; // no progress: do not wait for them
        continue;
      }
      if (r !== null) {
        this.#fill(r, enc, bytes);
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      this.sleepSync(W.GET_SEQ, W.PUT_WAITERS, seq, Math.min(left, IDLE_SLICE_MS), SPIN_SYNC_MS);
    }
  }

  /** The same without blocking the thread. */
  async putAsync(enc: Encoded, deadline: number): Promise<boolean> {
    const bytes = frameSize(enc);
    let spill = deadline === 0;
    for (;;) {
      const seq = this.ld(W.GET_SEQ);
      if (!this.tryLock()) await this.lockAsync();
      const r = this.#placeLocked(enc, bytes, spill);
      if (r === true) {
        this.wake(W.PUT_SEQ, W.GET_WAITERS);
        return true;
      }
      if (r === NO_ROOM) {
        await this.sleepAsync(W.GET_SEQ, W.PUT_WAITERS, seq, SPILL_WAIT_MS, SPIN_ASYNC_MS);
        if (this.ld(W.GET_SEQ) === seq) spill = true;
        continue;
      }
      if (r !== null) {
        this.#fill(r, enc, bytes);
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await this.sleepAsync(W.GET_SEQ, W.PUT_WAITERS, seq, Math.min(left, IDLE_SLICE_MS), SPIN_ASYNC_MS);
    }
  }

  /**
   * Called with the lock held; releases it. A small item is written at once
   * (true); a large one gets a PENDING record (its Slot, to fill); null when a
   * bounded queue is full; NO_ROOM when it needs a new overflow chunk and `spill` is false.
   */
  #placeLocked(enc: Encoded, bytes: number, spill: boolean): true | Slot | null | typeof NO_ROOM {
    try {
      const size = align8(RECORD_HEADER + bytes);
      if (size <= SMALL_MAX) {
        const r = this.#putSmallLocked(enc, size, spill);
        return r === false ? null : r;
      }
      if (this.full()) return null;
      return size <= INLINE_MAX
        ? this.#reserveLocked(size, -1, bytes, spill)
        : this.#reserveLocked(EXTERN_RECORD, this.add(W.EXTERN_NEXT, 1) >>> 0, bytes, spill);
    } finally {
      this.unlock();
    }
  }

  #putSmallLocked(enc: Encoded, size: number, spill: boolean): boolean | typeof NO_ROOM {
    if (this.full()) return false;
    const p = this.#room(size, spill);
    if (p === null) return NO_ROOM;
    const w = p.at >> 2;
    p.i32[w] = size;
    p.i32[w + 1] = Rec.INLINE;
    p.i32[w + 2] = State.READY;
    p.i32[w + 3] = 0;
    writeFrame(p.u8, p.i32, p.at + RECORD_HEADER, enc);
    this.#commit(p, size);
    this.add(W.COUNT, 1);
    this.add(W.UNFINISHED, 1);
    this.add(W.PUT_SEQ, 1);
    return true;
  }

  /** Lock held: a PENDING record for a large item (inline of `size` bytes, or EXTERN when `id` >= 0). */
  #reserveLocked(size: number, id: number, bytes: number, spill: boolean): Slot | typeof NO_ROOM {
    const p = this.#room(size, spill);
    if (p === null) return NO_ROOM;
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
    this.add(W.PENDING, 1);
    this.add(W.UNFINISHED, 1);
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
      this.wake(W.GET_SEQ, W.PUT_WAITERS);
      this.wake(W.PUT_SEQ, W.GET_WAITERS);
      throw err;
    }
    this.lockSync();
    try {
      Atomics.store(slot.i32, slot.w + 2, State.READY);
      this.add(W.PENDING, -1);
      this.add(W.COUNT, 1);
      this.add(W.PUT_SEQ, 1);
    } finally {
      this.unlock();
    }
    seg?.unmap();
    this.wake(W.PUT_SEQ, W.GET_WAITERS);
  }

  /**
   * Lock held: a record of `size` bytes, in the ring unless overflow is
   * active or the ring is full; null when that needs a new chunk and `spill` is false.
   */
  #room(size: number, spill: boolean): Place | null {
    if (this.ld(W.OVF_TAIL) < this.ld(W.OVF_HEAD)) {
      if (this.#chain.size) this.#chain.prune(this.ld(W.OVF_HEAD));
      const pos = this.#ringRoom(size);
      if (pos >= 0) return { i32: this.i32, u8: this.u8, at: this.ring + (pos % this.cap), chunk: -1, pos };
    }
    return this.#chunkRoom(size, spill);
  }

  #commit(p: Place, size: number): void {
    if (p.chunk < 0) this.st(W.WR, (p.pos + size) % (2 * this.cap));
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
    this.st(W.WR, next);
    if (used === 0) this.st(W.RD, next); // nothing to read: skip the filler at once
    return next;
  }

  #chunkRoom(size: number, spill: boolean): Place | null {
    const head = this.ld(W.OVF_HEAD);
    const tail = this.ld(W.OVF_TAIL);
    if (tail >= head) {
      const c = this.#chain.get(tail);
      const w = Atomics.load(c.i32, 0);
      if (w + size <= c.seg.size) return { i32: c.i32, u8: c.u8, at: w, chunk: tail, pos: 0 };
    }
    if (!spill) return null;
    const n = tail + 1;
    const c = this.#chain.create(n, Math.max(CHUNK_BYTES, CHUNK_HEADER + size));
    this.st(W.OVF_TAIL, n); // an empty chunk is a valid tail
    return { i32: c.i32, u8: c.u8, at: CHUNK_HEADER, chunk: n, pos: 0 };
  }

  /** Lock held: chunk `n` is consumed; retire it. */
  #retireChunk(n: number): void {
    this.st(W.OVF_HEAD, n + 1);
    this.#chain.drop(n);
  }

  // ---- get ---------------------------------------------------------------------------
  /** Spin briefly (without yielding) for an item to be put; true if one may have been. */
  awaitPut(): boolean {
    return this.spin(W.PUT_SEQ, this.ld(W.PUT_SEQ), SPIN_ASYNC_MS);
  }

  /** Take an item now if one is ready and the lock is free; EMPTY/BUSY otherwise. */
  takeNow(): Taken | typeof EMPTY | typeof BUSY {
    if (this.ld(W.COUNT) === 0) return EMPTY;
    if (!this.tryLock()) return BUSY;
    let r: Taken | typeof EMPTY | typeof WAIT;
    try {
      r = this.#takeLocked();
    } finally {
      this.unlock();
    }
    if (r === WAIT || r === EMPTY) return EMPTY;
    this.wake(W.GET_SEQ, W.PUT_WAITERS);
    return r;
  }

  /** Take an item, blocking the thread; null when `deadline` passed. */
  takeSync(deadline: number): Taken | null {
    for (;;) {
      const seq = this.ld(W.PUT_SEQ);
      let pendingHead = false;
      if (this.ld(W.COUNT) > 0 || this.ld(W.PENDING) > 0 || this.ld(W.CLAIMED) > 0) {
        this.lockSync();
        let r: Taken | typeof EMPTY | typeof WAIT;
        try {
          r = this.#takeLocked();
        } finally {
          this.unlock();
        }
        if (r === WAIT) pendingHead = true;
        else if (r !== EMPTY) {
          this.wake(W.GET_SEQ, W.PUT_WAITERS);
          return r;
        }
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const slice = pendingHead || this.ld(W.PENDING) > 0 || this.ld(W.CLAIMED) > 0 ? PENDING_SLICE_MS : IDLE_SLICE_MS;
      this.sleepSync(W.PUT_SEQ, W.GET_WAITERS, seq, Math.min(left, slice), pendingHead ? SPIN_PENDING_MS : SPIN_SYNC_MS);
    }
  }

  /**
   * The same without blocking the thread. With `ended`, resolves ENDED as
   * soon as nothing is left and `ended()` holds (re-checked after every wake).
   */
  async takeAsync(deadline: number, ended?: () => boolean): Promise<Taken | null | typeof ENDED> {
    for (;;) {
      const seq = this.ld(W.PUT_SEQ);
      let pendingHead = false;
      if (this.ld(W.COUNT) > 0 || this.ld(W.PENDING) > 0 || this.ld(W.CLAIMED) > 0) {
        if (!this.tryLock()) await this.lockAsync();
        let r: Taken | typeof EMPTY | typeof WAIT;
        try {
          r = this.#takeLocked();
        } finally {
          this.unlock();
        }
        if (r === WAIT) pendingHead = true;
        else if (r !== EMPTY) {
          this.wake(W.GET_SEQ, W.PUT_WAITERS);
          return r;
        }
      }
      if (ended && this.drained() && ended()) return ENDED;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const slice = pendingHead || this.ld(W.PENDING) > 0 || this.ld(W.CLAIMED) > 0 ? PENDING_SLICE_MS : IDLE_SLICE_MS;
      await this.sleepAsync(W.PUT_SEQ, W.GET_WAITERS, seq, Math.min(left, slice), pendingHead ? SPIN_PENDING_MS : SPIN_ASYNC_MS);
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
        if (r === CLAIM) return { i32: this.i32, u8: this.u8, w, chunk: -1, pos: rd, size };
        this.st(W.RD, (rd + size) % two); // the item is ours only now: it was copied out first
        if (r === SKIP) continue;
        this.#taken();
        return r;
      }
      const head = this.ld(W.OVF_HEAD);
      const tail = this.ld(W.OVF_TAIL);
      if (tail < head) return EMPTY;
      const c = this.#chain.get(head);
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
      if (r === CLAIM) return { i32: c.i32, u8: c.u8, w: roff >> 2, chunk: head, pos: roff, size };
      Atomics.store(c.i32, 1, roff + size);
      // Drained for now: retire the chunk at once (if it was the tail, the next put goes back to the ring).
      if (roff + size >= woff) this.#retireChunk(head);
      if (r === SKIP) continue;
      this.#taken();
      return r;
    }
  }

  #taken(): void {
    this.add(W.COUNT, -1);
    this.add(W.GET_SEQ, 1);
  }

  /**
   * Lock held: the record at word `w`: its item (copied out, or its segment
   * attached), CLAIM (a large record now claimed by this thread, counted as
   * taken: the caller returns a Claim), WAIT or SKIP.
   */
  #recordAt(i32: Int32Array, u8: Uint8Array, w: number): Frame | ExternItem | typeof CLAIM | typeof WAIT | typeof SKIP {
    const type = i32[w + 1];
    if (type === Rec.WRAP) return SKIP;
    let state = Atomics.load(i32, w + 2);
    if (state === State.DEAD) return SKIP;
    if (state === State.PENDING) {
      if (threadAlive(i32[w + 3]!)) return WAIT;
      this.#abandonLocked(i32, w); // its producer died while writing it
      this.wake(W.GET_SEQ, W.PUT_WAITERS);
      return SKIP;
    }
    if (state === State.TAKING) {
      if (threadAlive(i32[w + 3]!)) return WAIT;
      // Its consumer died while copying it out: the item is still here.
      Atomics.store(i32, w + 2, (state = State.READY));
      this.add(W.CLAIMED, -1);
      this.add(W.COUNT, 1);
    }
    if (type === Rec.INLINE) {
      if (i32[w]! <= SMALL_MAX) return readFrame(u8, i32, w * 4 + RECORD_HEADER);
      i32[w + 3] = me();
      Atomics.store(i32, w + 2, State.TAKING);
      this.add(W.CLAIMED, 1);
      this.#taken();
      return CLAIM;
    }
    const name = this.#externName(i32[w + 4]! >>> 0);
    try {
      return { seg: mapSegment(name, 0, { create: false }), name, bytes: i32[w + 5]! >>> 0 };
    } catch {
      // Gone (cannot happen unless someone unlinked it by hand): the item is lost; do not wedge the queue.
      this.add(W.COUNT, -1);
      if (this.ld(W.UNFINISHED) > 0) this.add(W.UNFINISHED, -1);
      return SKIP;
    }
  }

  #abandonLocked(i32: Int32Array, w: number): void {
    Atomics.store(i32, w + 2, State.DEAD);
    this.add(W.PENDING, -1);
    if (this.ld(W.UNFINISHED) > 0) this.add(W.UNFINISHED, -1);
    this.add(W.GET_SEQ, 1); // a slot of a bounded queue is free again
    this.add(W.PUT_SEQ, 1); // consumers waiting at this record move on
    if (i32[w + 1] === Rec.EXTERN) discard(this.#externName(i32[w + 4]! >>> 0));
  }

  /** The item's frame: copy a claimed record out and release it, or read a large item's own segment. */
  finish(t: Taken): Frame {
    if ('seg' in t) return this.#finishExtern(t);
    if ('w' in t) return this.#finishClaim(t);
    return t;
  }

  /** Copy a claimed record out (no lock held), then move the head past it. */
  #finishClaim(c: Claim): Frame {
    let f: Frame | undefined;
    try {
      f = readFrame(c.u8, c.i32, c.w * 4 + RECORD_HEADER);
    } finally {
      this.lockSync();
      try {
        this.add(W.CLAIMED, -1);
        if (f === undefined) {
          Atomics.store(c.i32, c.w + 2, State.READY); // not received: leave it for others
          this.add(W.COUNT, 1);
        } else if (c.chunk < 0) {
          this.st(W.RD, (c.pos + c.size) % (2 * this.cap));
        } else {
          Atomics.store(c.i32, 1, c.pos + c.size);
          if (c.pos + c.size >= Atomics.load(c.i32, 0)) this.#retireChunk(c.chunk);
        }
        this.add(W.PUT_SEQ, 1); // consumers waiting behind it move on
        this.add(W.GET_SEQ, 1); // producers waiting for room in the ring too
      } finally {
        this.unlock();
      }
      this.wake(W.PUT_SEQ, W.GET_WAITERS);
      this.wake(W.GET_SEQ, W.PUT_WAITERS);
    }
    return f;
  }

  /** Copy a large item out of its segment (after the lock was released) and remove the segment. */
  #finishExtern(item: ExternItem): Frame {
    discard(item.name); // the mapping stays valid
    try {
      return readFrame(new Uint8Array(item.seg.buffer), new Int32Array(item.seg.buffer), 0);
    } finally {
      item.seg.unmap();
    }
  }

  // ---- recovery ------------------------------------------------------------------------
  /** The lock was taken over from a holder that died: recompute the counters from the records. */
  protected override repair(): void {
    let count = 0;
    let pending = 0;
    let claimed = 0;
    const tally = (i32: Int32Array, w: number): void => {
      if (i32[w + 1] === Rec.WRAP) return;
      const state = Atomics.load(i32, w + 2);
      if (state === State.READY) count++;
      else if (state === State.PENDING) pending++;
      else if (state === State.TAKING) claimed++;
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
        c = this.#chain.get(n);
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
    this.st(W.COUNT, count);
    this.st(W.PENDING, pending);
    this.st(W.CLAIMED, claimed);
    if (this.ld(W.UNFINISHED) < count + pending + claimed) this.st(W.UNFINISHED, count + pending + claimed);
    // A chunk retired by a consumer that died before removing it.
    if (head > 1) discard(this.#chain.name(head - 1));
    this.add(W.PUT_SEQ, 1);
    this.add(W.GET_SEQ, 1);
    this.wake(W.PUT_SEQ, W.GET_WAITERS);
    this.wake(W.GET_SEQ, W.PUT_WAITERS);
  }
}

export { BUSY };
