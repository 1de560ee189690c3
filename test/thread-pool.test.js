// A Pool whose workers are threads (`context: getContext('thread')`): the same
// protocol as process workers, over a socketpair per worker thread.
//
// The hard time limit and terminate() stop a thread worker through its Popen
// (never process.kill(pid): a thread worker's pid is this process's own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { Pool, TimeLimitExceeded, getContext } from 'billiard';
import * as T from './fixtures/thread-tasks.js';

const THREAD_TASKS = new URL('./fixtures/thread-tasks.js', import.meta.url).href;
const ctx = getContext('thread');

function threadPool(opts = {}) {
  return new Pool({ processes: 2, modules: [THREAD_TASKS], context: ctx, ...opts });
}

test('workers are threads of this process and report the thread start method', async () => {
  const pool = threadPool();
  try {
    const who = await pool.map(T.poolWho, [1, 2, 3, 4, 5, 6, 7, 8], 1);
    for (const w of who) {
      assert.equal(w.method, 'thread');
      assert.equal(w.pid, process.pid);
      assert.notEqual(w.threadId, threadId);
    }
    // A thread worker is named by its thread id (its pid is ours), so terminateJob can pick it.
    const ids = pool.workerPids();
    assert.equal(new Set(ids).size, 2);
    for (const w of who) assert.ok(ids.includes(w.threadId), `${w.threadId} in ${ids}`);
  } finally {
    await pool.terminate();
  }
});

test('ctx.Pool(n) is a thread pool too', async () => {
  const pool = new ctx.Pool({ processes: 1, modules: [THREAD_TASKS] });
  try {
    assert.equal((await pool.apply(T.poolWho)).method, 'thread');
  } finally {
    await pool.terminate();
  }
});

test('map, applyAsync and a task that throws', async () => {
  const pool = threadPool();
  try {
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    assert.deepEqual(await pool.map(T.sq, xs), xs.map((x) => x * x));
    const rs = xs.slice(0, 1000).map((x) => pool.applyAsync(T.sq, [x]));
    assert.deepEqual(await Promise.all(rs.map((r) => r.get())), xs.slice(0, 1000).map((x) => x * x));
    await assert.rejects(pool.apply(T.fail, ['bad input']), (err) => err instanceof RangeError && err.message === 'bad input');
    // The worker survived its task's error.
    assert.equal(await pool.apply(T.sq, [9]), 81);
  } finally {
    await pool.terminate();
  }
});

test('a hard time limit stops the spinning thread, a new worker replaces it, the process lives on', async () => {
  const pool = threadPool();
  try {
    await pool.map(T.sq, [1, 2, 3, 4], 1);
    await assert.rejects(pool.apply(T.spin, [], { timeout: 200 }), TimeLimitExceeded);
    const rs = [1, 2, 3, 4].map((x) => pool.applyAsync(T.sq, [x]));
    assert.deepEqual(await Promise.all(rs.map((r) => r.get())), [1, 4, 9, 16]);
    assert.equal(pool.workerPids().length, 2);
  } finally {
    await pool.terminate();
  }
});

test('terminate() while a thread worker spins', async () => {
  const pool = threadPool();
  let accepted;
  const started = new Promise((resolve) => { accepted = resolve; });
  const spinning = pool.applyAsync(T.spin, [], { acceptCallback: accepted });
  await started;
  await pool.terminate();
  await assert.rejects(spinning.get());
});

test('close() and join(): workers end on their own', async () => {
  const pool = threadPool();
  assert.deepEqual(await pool.map(T.sq, [1, 2, 3]), [1, 4, 9]);
  pool.close();
  await pool.join();
});
