/**
 * The native backend: the few OS services Node.js lacks, over koffi. Linux
 * (x64, arm64) only; elsewhere every call throws OSError.
 *
 * These are slow paths. Hot paths use JS `Atomics` directly on
 * `new Int32Array(segment.buffer)`, which is atomic across processes in V8
 * (see test/native-atomics.test.js).
 */
import { futexWait, futexWake, type FutexTarget, type WaitResult } from './futex.js';
import { gettid, pollFd, setParentDeathSignal, socketpair } from './fd.js';
import { mapSegment, unlinkSegment, type MapOptions, type Segment } from './shm.js';
import { waitAsync, type WaitAsyncOptions } from './waiter.js';

export type { FutexTarget, MapOptions, Segment, WaitAsyncOptions, WaitResult };
export { futexWait, futexWake, mapSegment, unlinkSegment, waitAsync };
export { gettid, pollFd, setParentDeathSignal, socketpair };
export { pendingAsyncWaits } from './waiter.js';

/** What the rest of billiard needs from the OS; one implementation per platform. */
export interface NativeBackend {
  socketpair(): [number, number];
  pollFd(fd: number, events: 'read' | 'write', timeoutMs: number): boolean;
  setParentDeathSignal(signal: number | NodeJS.Signals, expectedParentPid?: number): void;
  gettid(): number;
  mapSegment(name: string, size: number, opts: MapOptions): Segment;
  unlinkSegment(name: string): void;
  futexWait(target: FutexTarget, byteOffset: number, expected: number, timeoutMs?: number): WaitResult;
  futexWake(target: FutexTarget, byteOffset: number, count?: number): number;
  waitAsync(
    target: FutexTarget,
    byteOffset: number,
    expected: number,
    timeoutMs?: number,
    opts?: WaitAsyncOptions,
  ): Promise<WaitResult>;
}

export const linuxBackend: NativeBackend = {
  socketpair,
  pollFd,
  setParentDeathSignal,
  gettid,
  mapSegment,
  unlinkSegment,
  futexWait,
  futexWake,
  waitAsync,
};
