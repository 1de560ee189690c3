/**
 * The shared heap (CPython's heap.py): the memory behind Lock, Event, Value,
 * Array … comes from a few shared memory *arenas* per process (per thread
 * isolate), not one /dev/shm file per object. Creating a Lock is a bump of a
 * JS counter; only a new arena costs syscalls.
 *
 * - Arenas start at one page and double (up to 1 MiB); a request above
 *   ARENA_MAX / 4 gets a segment of its own.
 * - A block is freed for reuse when the object that owns it is garbage
 *   collected, unless it was ever sent to another process (then another
 *   process may still use it: it stays until the tree ends).
 * - Names are registered with the resource tracker before creation. At exit
 *   a process unlinks the arenas it never shared; shared ones stay attachable
 *   while the tree lives (a receiver may attach after the sender exited) and
 *   the reaper unlinks them when the tree has ended.
 * - Other processes attach by name; each process maps a segment once.
 */
import { threadId } from 'node:worker_threads';
import { mapSegment, unlinkSegment, type Segment } from './native/backend.js';
import { OSError } from './errors.js';
import { currentTree, register, unregister } from './resource-tracker.js';
import { afterForkInChild } from './process/after-fork.js';

const PAGE = 4096;
const ARENA_MAX = 1 << 20;
const ALIGN = 8;

export interface Arena {
  readonly segment: Segment;
  readonly name: string;
  /** Whole-segment views, shared by every object of the arena. */
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** Made here (false in a forked child for the server's arenas). */
  ownedHere: boolean;
  top: number;
  shared: boolean;
}

/** A block of shared memory: `size` bytes at `offset` of `arena`. */
export interface Block {
  readonly arena: Arena;
  readonly offset: number;
  readonly size: number;
  shared: boolean;
}

/** How a block travels: [segment name, offset, size]. */
export type BlockRef = [string, number, number];

const own: Arena[] = [];
const attached = new Map<string, Arena>();
const freeLists = new Map<number, Block[]>();
let nextArenaSize = PAGE;
let counter = 0;

function makeArena(segment: Segment, ownedHere: boolean): Arena {
  return {
    segment,
    name: segment.name,
    i32: new Int32Array(segment.buffer),
    u8: new Uint8Array(segment.buffer),
    ownedHere,
    top: 0,
    shared: false,
  };
}

/** A new named segment of at least `size` bytes, registered with the tracker. */
export function createSegment(size: number, prefix?: string): Segment {
  const t = currentTree();
  for (let attempt = 0; ; attempt++) {
    const name = prefix ?? `/bl${t.root}_${process.pid}_${threadId}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
    register(name);
    try {
      return mapSegment(name, size, { create: true });
    } catch (err) {
      unregister(name);
      if (prefix !== undefined || (err as OSError).errno !== 'EEXIST' || attempt > 100) throw err;
    }
  }
}

function sizeClass(size: number): number {
  let c = 16;
  while (c < size) c *= 2;
  return c;
}

const registry = new FinalizationRegistry<Block>((block) => free(block));

// The server's arenas are the server's (and every sibling's copy): a forked child allocates from its own.
afterForkInChild(() => {
  for (const arena of own.splice(0)) arena.ownedHere = false;
  freeLists.clear();
  nextArenaSize = PAGE;
});

/** Allocate a zero-filled block; it is freed when `owner` is collected (see header). */
export function allocate(size: number, owner?: object): Block {
  const rounded = size <= ARENA_MAX / 4 ? sizeClass(size) : Math.ceil(size / ALIGN) * ALIGN;
  let block: Block | undefined = freeLists.get(rounded)?.pop();
  if (block) {
    block.arena.u8.fill(0, block.offset, block.offset + block.size);
  } else if (rounded > ARENA_MAX / 4) {
    const arena = makeArena(createSegment(Math.ceil(rounded / PAGE) * PAGE), true);
    own.push(arena);
    arena.top = rounded;
    block = { arena, offset: 0, size: rounded, shared: false };
  } else {
    let arena = own.find((a) => a.segment.size <= ARENA_MAX && a.segment.size - a.top >= rounded);
    if (!arena) {
      while (nextArenaSize < rounded) nextArenaSize *= 2;
      arena = makeArena(createSegment(nextArenaSize), true);
      nextArenaSize = Math.min(ARENA_MAX, nextArenaSize * 2);
      own.push(arena);
    }
    block = { arena, offset: arena.top, size: rounded, shared: false };
    arena.top += rounded;
  }
  if (owner) registry.register(owner, block);
  return block;
}

/** Free `block` for reuse once `owner` is collected. */
export function adopt(block: Block, owner: object): void {
  registry.register(owner, block);
}

function free(block: Block): void {
  if (block.shared || !block.arena.ownedHere || block.arena.segment.closed) return;
  if (block.size > ARENA_MAX / 4) {
    // A segment of its own that no other process ever saw: give it back now, not at exit.
    // (unmap() leaves harmless zeroed memory behind any view that might survive.)
    if (block.arena.shared) return;
    const i = own.indexOf(block.arena);
    if (i >= 0) own.splice(i, 1);
    try {
      block.arena.segment.unmap();
      unlinkSegment(block.arena.name);
      unregister(block.arena.name);
    } catch {
      /* already gone */
    }
    return;
  }
  let list = freeLists.get(block.size);
  if (!list) freeLists.set(block.size, (list = []));
  list.push(block);
}

/** The reference another process attaches with; marks the block as shared. */
export function refOf(block: Block): BlockRef {
  block.shared = true;
  block.arena.shared = true;
  return [block.arena.name, block.offset, block.size];
}

/** Attach to a block another process allocated. */
export function attach([name, offset, size]: BlockRef): Block {
  let arena = own.find((a) => a.name === name) ?? attached.get(name);
  if (!arena) {
    arena = makeArena(mapSegment(name, 0, { create: false }), false);
    attached.set(name, arena);
  }
  if (offset + size > arena.segment.size) throw new OSError(`block ${offset}+${size} is outside segment '${name}'`);
  return { arena, offset, size, shared: true };
}

/**
 * Unlink every arena this process made, shared or not, now (mappings stay
 * valid, here and in every process that attached). For a process whose
 * objects end with it, such as a manager at shutdown: it removes its
 * segments itself instead of leaving the shared ones to the tree's reaper.
 * A process that has not attached a block by then cannot attach it later.
 */
export function unlinkOwnArenas(): void {
  for (const arena of own.splice(0)) {
    try {
      unlinkSegment(arena.name);
      unregister(arena.name);
    } catch {
      /* already gone */
    }
  }
  freeLists.clear();
}

// Arenas nobody else ever saw go away with their process.
process.on('exit', () => {
  for (const arena of own) {
    if (arena.shared) continue;
    try {
      unlinkSegment(arena.name);
      unregister(arena.name);
    } catch {
      /* already gone */
    }
  }
});
