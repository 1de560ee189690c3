/**
 * The control block of a queue: its words in the shared heap, the robust lock
 * over them, and waiting on its futex words (see core.ts for the protocol).
 */
import type { Block } from '../heap.js';
import { futexWait, futexWake, unlinkSegment, waitAsync, type Segment } from '../native/backend.js';
import { unregister } from '../resource-tracker.js';
import { STOLEN, lockWordAsync, lockWordSync, me, unlockWord } from '../synchronize/common.js';
import { W } from './layout.js';

/** join() re-checks this often (a safety net: wakes are not expected to be lost). */
const JOIN_SLICE_MS = 1000;
/** Lock attempts before the async path sleeps on the lock word. */
const LOCK_SPIN = 2000;

export abstract class ControlBlock {
  readonly block: Block;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly seg: Segment;
  /** Word index of the control block in the arena. */
  readonly h: number;

  constructor(block: Block) {
    this.block = block;
    this.i32 = block.arena.i32;
    this.u8 = block.arena.u8;
    this.seg = block.arena.segment;
    this.h = block.offset >> 2;
  }

  /** Called with the lock held after it was taken over from a holder that died. */
  protected abstract repair(): void;

  ld(w: W): number {
    return Atomics.load(this.i32, this.h + w);
  }
  st(w: W, v: number): void {
    Atomics.store(this.i32, this.h + w, v);
  }
  add(w: W, d: number): number {
    return Atomics.add(this.i32, this.h + w, d);
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
    if (v === 1) this.wake(W.UNFINISHED, W.JOIN_WAITERS);
    return true;
  }

  async join(): Promise<void> {
    for (;;) {
      const v = this.ld(W.UNFINISHED);
      if (v <= 0) return;
      this.st(W.JOIN_WAITERS, 1);
      await waitAsync(this.seg, (this.h + W.UNFINISHED) * 4, v, JOIN_SLICE_MS);
    }
  }

  joinSync(): void {
    for (;;) {
      const v = this.ld(W.UNFINISHED);
      if (v <= 0) return;
      this.st(W.JOIN_WAITERS, 1);
      futexWait(this.seg, (this.h + W.UNFINISHED) * 4, v, JOIN_SLICE_MS);
    }
  }

  // ---- the lock ----------------------------------------------------------------------
  tryLock(): boolean {
    return Atomics.compareExchange(this.i32, this.h + W.LOCK, 0, me()) === 0;
  }

  lockSync(): void {
    if (this.tryLock()) return;
    if (lockWordSync(this.block.arena, this.h + W.LOCK, Infinity) === STOLEN) this.repair();
  }

  async lockAsync(): Promise<void> {
    const a = this.i32;
    const i = this.h + W.LOCK;
    for (let k = 0; k < LOCK_SPIN; k++) {
      if (Atomics.load(a, i) === 0 && this.tryLock()) return;
    }
    if ((await lockWordAsync(this.block.arena, i, Infinity)) === STOLEN) this.repair();
  }

  unlock(): void {
    const self = me();
    if (Atomics.compareExchange(this.i32, this.h + W.LOCK, self, 0) === self) return;
    unlockWord(this.block.arena, this.h + W.LOCK);
  }

  // ---- waiting -------------------------------------------------------------------------
  /**
   * Wake every thread sleeping on `word` (the word has changed already).
   * `flag` is set by each sleeper before it sleeps and cleared by the waker
   * that wakes them all: one syscall per sleep, not one per put.
   */
  wake(word: W, flag: W): void {
    const a = this.i32;
    if (Atomics.load(a, this.h + flag) !== 0 && Atomics.exchange(a, this.h + flag, 0) !== 0) {
      futexWake(this.seg, (this.h + word) * 4, Infinity);
    }
  }

  spin(word: W, seq: number, ms: number): boolean {
    if (ms <= 0) return false;
    const a = this.i32;
    const i = this.h + word;
    const end = performance.now() + ms;
    for (;;) {
      for (let k = 0; k < 200; k++) if (Atomics.load(a, i) !== seq) return true;
      if (performance.now() >= end) return false;
    }
  }

  sleepSync(word: W, waiters: W, seq: number, ms: number, spinMs: number): void {
    if (this.spin(word, seq, Math.min(spinMs, ms))) return;
    this.st(waiters, 1);
    futexWait(this.seg, (this.h + word) * 4, seq, ms);
  }

  async sleepAsync(word: W, waiters: W, seq: number, ms: number, spinMs: number): Promise<void> {
    if (this.spin(word, seq, Math.min(spinMs, ms))) return;
    this.st(waiters, 1);
    await waitAsync(this.seg, (this.h + word) * 4, seq, ms);
  }
}

/** Remove a segment name this queue created (from any process); quiet if it is gone. */
export function discard(name: string): void {
  try {
    unlinkSegment(name);
  } catch {
    return;
  }
  unregister(name);
}
