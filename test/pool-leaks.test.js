// Pool: what a long-running program does over and over must not pile up. Found by the soak
// (chaos/soak.js): the pool kept every task function it was given, by identity, and an inline
// arrow (`pool.apply((x) => x * 2, …)`) is a new function object on every call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { withPool } from './fixtures/pool-helpers.js';
import * as T from './fixtures/pool-tasks.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const macrotask = () => new Promise((r) => setTimeout(r, 0));

/** heapUsed after full collections (WeakRefs are only cleared after the current job). */
async function liveHeap() {
  for (let i = 0; i < 3; i++) {
    await macrotask();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

test('the pool does not keep the task functions it ran alive', async () => {
  await withPool({ processes: 1 }, async (pool) => {
    const refs = [];
    // (in a function of its own: a suspended async frame may still hold its last `fn`)
    const run = async (i) => {
      const fn = (x) => x + 1; // by source: a new function object on every call
      refs.push(new WeakRef(fn));
      assert.equal(await pool.apply(fn, [i]), i + 1);
      assert.deepEqual(await pool.map(fn, [1, 2], 1), [2, 3]);
    };
    for (let i = 0; i < 20; i++) await run(i);
    const exported = new WeakRef(T.square);
    await liveHeap();
    assert.deepEqual(refs.flatMap((r, i) => (r.deref() ? [i] : [])), [], 'task functions still referenced');
    assert.equal(exported.deref(), T.square);
    // Distinct sources still get distinct functions in the worker; one source, one definition.
    assert.equal(await pool.apply((x) => x * 3, [2]), 6);
    assert.equal(await pool.apply((x) => x * 5, [2]), 10);
    assert.equal(await pool.apply(T.square, [4]), 16);
  });
});

test('many calls with inline task functions: the main heap stays flat', async () => {
  await withPool({ processes: 1 }, async (pool) => {
    const round = async (n) => { for (let i = 0; i < n; i++) await pool.apply((x) => x, [i]); };
    await round(1000); // warm-up: code, inline caches, buffers
    const before = await liveHeap();
    const N = 12_000;
    await round(N);
    const grown = (await liveHeap()) - before;
    // Keeping each function and its definition cost ≈ 270 bytes a call (≈ 3.2 MB here);
    // GC noise is within ±0.5 MB.
    assert.ok(grown < N * 120, `heap grew ${(grown / 1024).toFixed(0)} KB over ${N} calls`);
  });
});
