// Pool result objects: AsyncResult.get({timeout}), wait, ready, successful,
// accepted, workerPids, jobId, correlationId; MapResult; acceptCallback;
// currentTask() inside and outside a task.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncResult, MapResult, RuntimeError, TimeoutError, ValueError, currentTask } from 'billiard';
import * as T from './fixtures/pool-tasks.js';
import { deferred, outcome, until, wallNow, withPool } from './fixtures/pool-helpers.js';

describe('AsyncResult', () => {
  test('get({ timeout }) rejects with TimeoutError while not ready; get() later resolves', async () => {
    await withPool({}, async (pool) => {
      const r = pool.applyAsync(T.sleep, [400, 'late']);
      assert.ok(r instanceof AsyncResult);
      const t0 = performance.now();
      const err = await r.get({ timeout: 50 }).then(() => null, (e) => e);
      const waited = performance.now() - t0;
      assert.ok(err instanceof TimeoutError, `got ${err}`);
      assert.ok(waited >= 45 && waited < 1000, `get({timeout: 50}) took ${waited.toFixed(0)} ms`);
      assert.equal(r.ready(), false);
      assert.equal(await r.get(), 'late');
      assert.equal(await r.get({ timeout: 0 }), 'late', 'a ready result is returned whatever the timeout');
    });
  });

  test('get({ timeout: 0 }) on a pending result rejects at once', async () => {
    await withPool({}, async (pool) => {
      const r = pool.applyAsync(T.sleep, [300]);
      const t0 = performance.now();
      await assert.rejects(r.get({ timeout: 0 }), TimeoutError);
      assert.ok(performance.now() - t0 < 100);
    });
  });

  test('wait({ timeout }) returns without the result; wait() returns once ready', async () => {
    await withPool({}, async (pool) => {
      const r = pool.applyAsync(T.sleep, [300, 'v']);
      const t0 = performance.now();
      await r.wait({ timeout: 50 });
      assert.ok(performance.now() - t0 >= 45);
      assert.equal(r.ready(), false);
      await r.wait();
      assert.equal(r.ready(), true);
      assert.equal(r.successful(), true);
      // wait() on a failed job resolves too (it does not throw the job's error).
      const f = pool.applyAsync(T.fail, ['x']);
      await f.wait();
      assert.equal(f.ready(), true);
      assert.equal(f.successful(), false);
    });
  });

  test('successful() throws ValueError before the result is ready', async () => {
    await withPool({}, async (pool) => {
      const r = pool.applyAsync(T.sleep, [200]);
      assert.throws(() => r.successful(), (e) => e instanceof ValueError && /not ready/.test(e.message));
      await r.wait();
      assert.equal(r.successful(), true);
    });
  });

  test('accepted() and workerPids(): false / [] until a worker starts the job, then true / [pid]', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const firstAccepted = deferred();
      const first = pool.applyAsync(T.sleep, [300], { acceptCallback: firstAccepted.resolve });
      const second = pool.applyAsync(T.getPid);
      const accepted = deferred();
      const third = pool.applyAsync(T.sleep, [50], { acceptCallback: (pid, time) => accepted.resolve({ pid, time }) });
      assert.equal(first.accepted(), false);
      assert.equal(second.accepted(), false);
      assert.deepEqual(second.workerPids(), []);
      await firstAccepted.promise;
      assert.equal(first.accepted(), true, 'a running job is accepted');
      assert.deepEqual(first.workerPids(), pool.workerPids());
      assert.equal(second.accepted(), false, 'a queued job is not accepted');
      const pid = await second.get();
      assert.equal(second.accepted(), true);
      assert.deepEqual(second.workerPids(), [pid]);
      const a = await accepted.promise;
      assert.equal(a.pid, pid);
      await third.get();
    });
  });

  // BUG: a synchronous task that is not its worker's first sends no Ack (worker.ts runTask: Ack only if wantAck, or after an async task's first step), so accepted() stays false and workerPids() [] until the result.
  test('accepted() / workerPids() turn true while a synchronous task runs (no callbacks, no limits)', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const pid = await pool.apply(T.getPid); // not the worker's first task (that one is always acknowledged)
      const r = pool.applyAsync(T.block, [800]);
      // No event tells when a job starts without an acceptCallback: poll while the task blocks its worker.
      await until(() => r.accepted(), 600, 'accepted() while the task runs').catch((err) => {
        assert.equal(r.ready(), false, 'the task finished before the check');
        throw err;
      });
      assert.deepEqual(r.workerPids(), [pid]);
      assert.equal(await r.get(), pid);
    });
  });

  test('acceptCallback(pid, time): the worker pid and the accept time (wall-clock ms), before the result', async () => {
    await withPool({}, async (pool) => {
      const events = [];
      const before = wallNow();
      const r = pool.applyAsync(T.sleep, [50, 'x'], {
        acceptCallback: (pid, time) => events.push(['accept', pid, time]),
        callback: () => events.push(['callback']),
      });
      assert.equal(await r.get(), 'x');
      const after = wallNow();
      assert.equal(events.length, 2, JSON.stringify(events));
      assert.equal(events[0][0], 'accept');
      assert.equal(events[1][0], 'callback');
      const [, pid, time] = events[0];
      assert.deepEqual(r.workerPids(), [pid]);
      assert.notEqual(pid, process.pid);
      assert.equal(typeof time, 'number');
      assert.ok(time >= before - 5 && time <= after, `accept time ${time - before} ms after submit`);
    });
  });

  test('jobId and correlationId; currentTask().jobId is the job id', async () => {
    await withPool({}, async (pool) => {
      const a = pool.applyAsync(T.taskInfo, [], { correlationId: 'corr-1' });
      const b = pool.applyAsync(T.taskInfo);
      assert.equal(typeof a.jobId, 'number');
      assert.notEqual(a.jobId, b.jobId);
      assert.equal(a.correlationId, 'corr-1');
      const info = await a.get();
      assert.equal(info.jobId, a.jobId);
      assert.equal(info.aborted, false);
      assert.equal(info.exceeded, false);
      assert.equal((await b.get()).jobId, b.jobId);
    });
  });

  test('currentTask() throws outside a pool task (also in the parent)', async () => {
    assert.throws(() => currentTask(), RuntimeError);
    await withPool({}, async (pool) => {
      // Started inside a task, read after the task's first await: still the same task.
      const r = pool.applyAsync(T.currentTaskLater);
      assert.equal(await r.get(), r.jobId);
    });
  });

  test('a result nobody reads does not cause an unhandled rejection', async () => {
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await withPool({}, async (pool) => {
        const r = pool.applyAsync(T.fail, ['nobody reads me']);
        pool.mapAsync(T.failSyncOn, ['bad']);
        await r.wait();
        await pool.apply(T.sleep, [20]);
        await new Promise((resolve) => setImmediate(resolve));
      });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });
});

describe('MapResult', () => {
  test('ready / successful / accepted / workerPids over all chunks', async () => {
    await withPool({}, async (pool) => {
      const r = pool.mapAsync(T.sleepItem, [100, 100, 100, 100], { chunksize: 1 });
      assert.ok(r instanceof MapResult);
      assert.equal(r.ready(), false);
      assert.throws(() => r.successful(), ValueError);
      assert.deepEqual(await r.get(), [100, 100, 100, 100]);
      assert.equal(r.ready(), true);
      assert.equal(r.successful(), true);
      assert.equal(r.accepted(), true);
      const pids = r.workerPids();
      assert.ok(pids.length >= 1 && pids.length <= 2, `pids ${pids}`);
      for (const pid of pids) assert.ok(pool.workerPids().includes(pid));
    });
  });

  test('get({ timeout }) on a map rejects with TimeoutError, then the list comes', async () => {
    await withPool({}, async (pool) => {
      const r = pool.mapAsync(T.sleepItem, [300, 10]);
      await assert.rejects(r.get({ timeout: 30 }), TimeoutError);
      assert.deepEqual(await r.get(), [300, 10]);
    });
  });

  test('a failed map: successful() is false, get() rejects with the error', async () => {
    await withPool({}, async (pool) => {
      const r = pool.mapAsync(T.failSyncOn, [1, 'bad', 3], { chunksize: 1 });
      const o = await outcome(r.get());
      assert.equal(o.ok, false);
      assert.ok(o.error instanceof T.PoolTaskError);
      assert.equal(r.successful(), false);
    });
  });
});
