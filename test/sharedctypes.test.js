// Value, SharedArray (Array), RawValue, RawArray and Struct: types, locks, errors, sharing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeError, IndexError, Lock, Pipe, RLock, RawArray, RawValue, SharedArray, Struct, Synchronized,
  SynchronizedArray, TypeError, Value, ValueError, getContext,
} from 'billiard';
import { assertNoLeaks, child, reapAll } from './fixtures/sync-helpers.js';

after(async () => {
  await reapAll();
  await assertNoLeaks();
});

test('Value: type codes, zero fill, wrap-around, bigint for 64-bit, chars, repr', () => {
  assert.equal(Value('i').value, 0);
  assert.equal(Value('i', 7).value, 7);
  assert.equal(String(Value('i', 7)), '<Synchronized wrapper for c_int(7)>');
  assert.equal(Value('i', 2 ** 40).value, 0, 'ints wrap silently, as ctypes');
  assert.equal(Value('b', 200).value, -56);
  assert.equal(Value('B', 256 + 5).value, 5);
  assert.equal(Value('H', -1).value, 65535);
  assert.equal(Value('q', 2n ** 62n).value, 2n ** 62n);
  assert.equal(Value('Q', -1).value, 2n ** 64n - 1n);
  assert.equal(Value('l', 5).value, 5n);
  assert.equal(Value('f', 0.5).value, 0.5);
  assert.equal(Value('d', Math.PI).value, Math.PI);
  assert.equal(Value('c', 'x').value, 'x');
  assert.equal(Value('u', '€').value, '€');
  assert.throws(() => Value('z'), (e) => e instanceof TypeError && e.message === 'this type has no size');
  const v = Value('d', 1);
  v.value += 1.5;
  assert.equal(v.value, 2.5);
});

test('Value: lock options: default RLock, false gives the raw value, a given lock, anything else throws', () => {
  const v = Value('i', 1);
  assert.ok(v instanceof Synchronized);
  assert.ok(v.getLock() instanceof RLock);
  assert.equal(v.getObj().value, 1);
  const raw = Value('i', 3, { lock: false });
  assert.ok(!(raw instanceof Synchronized));
  assert.equal(raw.value, 3);
  assert.equal(raw.getLock, undefined);
  const lock = new Lock();
  const w = Value('i', 0, { lock });
  assert.equal(w.getLock(), lock);
  lock.acquireSync();
  assert.equal(w.getObj().value, 0, 'the raw object does not lock');
  lock.release();
  assert.throws(() => Value('i', 0, { lock: 'navalue' }), (e) => e instanceof AttributeError && e.message === "'navalue' has no method 'acquire'");
  const r = RawValue('h', -2);
  assert.equal(r.value, -2);
  assert.equal(String(r), 'c_short(-2)');
});

test('Struct: ctypes-like layout and field access', () => {
  const Point = new Struct({ x: 'd', y: 'd', tag: 'c', n: 'i', hist: ['h', 3] });
  assert.equal(Point.size, 32); // 30 bytes of fields, padded to the alignment of 'd'
  assert.deepEqual(Point.fields.map((f) => f.offset), [0, 8, 16, 20, 24]);
  const p = Value(Point, { x: 1, y: 2, tag: 'a', n: 7, hist: [1, 2, 3] });
  assert.deepEqual(p.value, { x: 1, y: 2, tag: 'a', n: 7, hist: [1, 2, 3] });
  p.x = 10;
  assert.equal(p.x, 10);
  assert.equal(p.value.x, 10);
  const arr = SharedArray(Point, 2);
  arr.set(1, { x: 3, y: 4 });
  assert.equal(arr.get(1).y, 4);
  assert.equal(arr.get(0).x, 0);
});

test('SharedArray: get/set, negative indices, slices, setSlice, errors, toArray, length, iteration', () => {
  const a = SharedArray('i', [1, 2, 3, 4]);
  assert.ok(a instanceof SynchronizedArray);
  assert.equal(a.length, 4);
  assert.equal(a.get(0), 1);
  assert.equal(a.get(-1), 4);
  a.set(1, 20);
  assert.deepEqual(a.toArray(), [1, 20, 3, 4]);
  assert.deepEqual(a.slice(1, 3), [20, 3]);
  assert.deepEqual(a.slice(-2), [3, 4]);
  a.setSlice(0, 2, [7, 8]);
  assert.deepEqual([...a], [7, 8, 3, 4]);
  assert.throws(() => a.setSlice(0, 2, [1]), (e) => e instanceof ValueError && e.message === 'Can only assign sequence of same size');
  assert.throws(() => a.get(4), (e) => e instanceof IndexError && e.message === 'invalid index');
  assert.throws(() => a.set(-5, 1), IndexError);
  assert.deepEqual(SharedArray('d', 3).toArray(), [0, 0, 0], 'zero-filled');
  const raw = a.getObj();
  assert.ok(raw instanceof Int32Array);
  raw[3] = 99;
  assert.equal(a.get(3), 99, 'the typed-array view is the same memory');
  const chars = SharedArray('c', 8);
  chars.value = 'hello';
  assert.equal(chars.value, 'hello');
  assert.equal(chars.raw.length, 8);
  assert.equal(SharedArray('u', 'héllo').value, 'héllo');
  assert.equal(SharedArray('q', [1, 2]).get(1), 2n);
  assert.equal(SharedArray('i', 2, { lock: false }) instanceof Int32Array, true);
});

test('RawArray: a zero-filled typed array over shared memory; derived arrays are plain copies', () => {
  const r = RawArray('d', 4);
  assert.ok(r instanceof Float64Array);
  assert.deepEqual([...r], [0, 0, 0, 0]);
  const init = RawArray('i', [5, 6]);
  assert.deepEqual([...init], [5, 6]);
  assert.equal(init.typeCode, 'i');
  assert.equal(Object.getPrototypeOf(init.map((x) => x)), Int32Array.prototype);
  assert.equal(RawArray('c', 4).constructor.name, 'RawArray_c');
});

test('Value, Array and RawArray passed to children share memory; a child may send a Value back by message', async () => {
  const arr = RawArray('d', 1000);
  const filler = child('fill', [arr, 2.5]);
  await filler.join();
  assert.equal(filler.exitcode, 0);
  assert.equal(arr[999], 2.5);
  const out = Value('d', 0);
  const summer = child('sumInto', [arr, out]);
  await summer.join();
  assert.equal(out.value, 2500);

  const [mine, theirs] = Pipe();
  const maker = child('makeValue', [theirs]);
  theirs.close();
  const [v, done] = await mine.recv();
  assert.ok(v instanceof Synchronized);
  assert.equal(v.value, 42);
  v.value = 43;
  done.set();
  await maker.join();
  assert.equal(maker.exitcode, 0);
  assert.equal(v.value, 43, 'still attached after the creator exited');
  mine.close();
});

test('contexts expose Value, Array, SharedArray, RawValue, RawArray', () => {
  const ctx = getContext('spawn');
  assert.equal(ctx.Array, SharedArray);
  assert.equal(ctx.SharedArray, SharedArray);
  assert.equal(ctx.Value('i', 3).value, 3);
  assert.equal(ctx.RawValue('i', 4).value, 4);
  assert.equal(ctx.RawArray('B', 2).length, 2);
});
