/**
 * Shared memory (seed: billiard quick-start, the Value / Array / RawValue /
 * RawArray API snippet): children write into memory the parent sees.
 *
 * `Array` is exported as `SharedArray` (a top-level `Array` would shadow the
 * global); contexts have both `ctx.Array` and `ctx.SharedArray`.
 *
 *   npx tsx examples/shared-values.ts
 */
import { Process, RawArray, RawValue, SharedArray, Value, isMainProcess, type CValue, type Synchronized, type SynchronizedArray } from 'billiard';

/** Squares every element, bumps the counter under its lock, writes raw values. */
export async function fill(
  num: Synchronized<number>, arr: SynchronizedArray<number>, raw: CValue<number>, rawArr: Int32Array,
): Promise<void> {
  await num.withLock(() => { num.getObj().value += 1; });
  for (let i = 0; i < arr.length; i++) arr.set(i, arr.get(i) ** 2);
  raw.value = 3.25;
  for (let i = 0; i < rawArr.length; i++) rawArr[i] = i * 10;
}

if (isMainProcess()) {
  const num = Value('i', 41);                       // synchronized (with a lock)
  const arr = SharedArray('d', [1, 2, 3, 4, 5]);    // synchronized array of doubles
  const raw = RawValue('d', 0);                      // no lock
  // RawArray's return type is a union of views (RawArrayView): narrow it for 'i'.
  const rawArr = RawArray('i', 4) as Int32Array;     // a typed-array view, no lock

  const p = new Process({ target: fill, args: [num, arr, raw, rawArr] });
  p.start();
  await p.join();

  console.log(`Value: ${num.value}`);
  console.log(`Array: ${JSON.stringify(arr.toArray())}`);
  console.log(`RawValue: ${raw.value}`);
  console.log(`RawArray: ${JSON.stringify(Array.from(rawArr))}`);
}
