// Pool time limits (billiard, done precisely): soft and hard limits per pool and
// per call, counted from acceptance; soft → the task's AbortSignal and
// softTimeLimitExceeded() (even in synchronous code), timeoutCallback; hard →
// TimeLimitExceeded, the worker killed (SIGTERM, then SIGKILL) and replaced;
// with map and imap too; onTimeoutSet / onTimeoutCancel.
//
// The spec says "within 20 ms"; on a loaded 2-core VM these tests allow 1 s
// and print the measured lateness (t.diagnostic) — the precise figures belong to
// the benchmarks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftTimeLimitExceeded, TimeLimitExceeded } from 'billiard';
import * as T from './fixtures/pool-tasks.js';
import { alive, deferred, outcome, toArray, until, wallNow, withPool } from './fixtures/pool-helpers.js';

// Only catches a limit that is not honoured at all: the measured lateness (3–6 ms here) is a
// benchmark figure (bench/suites/pool.js), and a loaded CI machine can delay any timer.
const SLACK = 1000;

/**
 * Assert deadline ≤ at ≤ deadline + SLACK and report the lateness. Accept times
 * come from the worker's clock (performance.timeOrigin + now()), which can differ
 * from the parent's by a few ms, and timers have 1 ms granularity: 5 ms early is
 * allowed.
 */
function assertOnTime(t, what, at, deadline) {
  const late = at - deadline;
  t.diagnostic(`${what}: ${late.toFixed(1)} ms after its deadline`);
  assert.ok(late >= -5, `${what} fired ${(-late).toFixed(1)} ms before its deadline`);
  assert.ok(late <= SLACK, `${what} fired ${late.toFixed(1)} ms after its deadline`);
}

/** applyAsync with acceptCallback/timeoutCallback instrumentation. */
function instrumented(pool, fn, args, opts = {}) {
  const accepted = deferred();
  const timeouts = [];
  const r = pool.applyAsync(fn, args, {
    ...opts,
    acceptCallback: (pid, time) => accepted.resolve({ pid, time }),
    timeoutCallback: (info) => timeouts.push({ ...info, at: wallNow() }),
  });
  return { r, accepted: accepted.promise, timeouts };
}

describe('soft time limit', () => {
  for (const where of ['per call', 'pool default']) {
    test(`${where}: the task's signal aborts with SoftTimeLimitExceeded, timeoutCallback runs, the task may finish`, async (t) => {
      const poolOpts = where === 'pool default' ? { softTimeout: 150 } : {};
      const callOpts = where === 'per call' ? { softTimeout: 150 } : {};
      await withPool(poolOpts, async (pool) => {
        // The task cleans up for 50 ms after the abort (see the next test for a task that returns at once).
        const { r, accepted, timeouts } = instrumented(pool, T.awaitSoftLimit, [5000, 50], callOpts);
        const value = await r.get();
        const { pid, time } = await accepted;
        assert.equal(value.pid, pid);
        assert.equal(value.reasonName, 'SoftTimeLimitExceeded');
        assert.equal(value.reasonIsError, true);
        assert.equal(value.exceeded, true);
        assert.ok(value.abortedAt !== null, 'the signal never aborted');
        assertOnTime(t, 'soft limit in the worker', value.abortedAt, time + 150);
        assert.equal(timeouts.length, 1, JSON.stringify(timeouts));
        assert.equal(timeouts[0].soft, true);
        assert.equal(timeouts[0].timeout, 150);
        assertOnTime(t, 'timeoutCallback({ soft: true })', timeouts[0].at, time + 150);
        // The task finished its cleanup: the job succeeded and its worker lives on.
        assert.equal(r.successful(), true);
        assert.equal(alive(pid), true);
        assert.ok(pool.workerPids().includes(pid));
      });
    });
  }

  // BUG: timeoutCallback({ soft: true }) is skipped when the task returns as soon as its signal aborts and the parent's loop is busy at the deadline: the result is handled before the parent's own soft timer (pool.ts:400) and onResult → #clearTimers (pool.ts:409, 452-457) drops it.
  test('timeoutCallback({ soft: true }) runs even when the task returns at once on abort and the parent is busy', async (t) => {
    await withPool({}, async (pool) => {
      const accepted = deferred();
      const timeouts = [];
      const r = pool.applyAsync(T.awaitSoftLimit, [5000, 0], {
        softTimeout: 150,
        acceptCallback: (pid, time) => accepted.resolve(time),
        timeoutCallback: (info) => timeouts.push(info),
      });
      const time = await accepted.promise;
      // Keep the parent's event loop busy (inside a timer callback) from just before the soft deadline until the worker has replied.
      await new Promise((resolve) => setTimeout(() => {
        while (wallNow() < time + 150 + 150) { /* busy parent */ }
        resolve();
      }, Math.max(0, time + 150 - 30 - wallNow())));
      const value = await r.get();
      assert.equal(value.reasonName, 'SoftTimeLimitExceeded');
      t.diagnostic(`timeout callbacks: ${JSON.stringify(timeouts)}`);
      assert.deepEqual(timeouts, [{ soft: true, timeout: 150 }]);
    });
  });

  test('softTimeLimitExceeded() turns true on time while synchronous code blocks the event loop', async (t) => {
    await withPool({}, async (pool) => {
      const { r, accepted, timeouts } = instrumented(pool, T.spinUntilSoft, [500], { softTimeout: 150 });
      const value = await r.get();
      const { time } = await accepted;
      assert.equal(value.before, false, 'exceeded before the limit');
      assert.ok(value.turnedAt !== null, 'softTimeLimitExceeded() never turned true');
      assertOnTime(t, 'softTimeLimitExceeded() in a busy loop', value.turnedAt, time + 150);
      // The parent's timeoutCallback does not depend on the worker's event loop.
      assert.equal(timeouts.length, 1);
      assertOnTime(t, 'timeoutCallback during the busy loop', timeouts[0].at, time + 150);
    });
  });

  test('a task may rethrow the abort reason: the job rejects with SoftTimeLimitExceeded', async () => {
    await withPool({}, async (pool) => {
      const err = await pool.apply(T.throwOnSoft, [], { softTimeout: 50 }).then(() => null, (e) => e);
      assert.ok(err instanceof SoftTimeLimitExceeded, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, new SoftTimeLimitExceeded('x').code);
    });
  });

  test('the soft limit of a finished job never reaches the next job on that worker', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      assert.equal(await pool.apply(T.sleep, [60, 'done'], { softTimeout: 100 }), 'done');
      const next = await pool.apply(T.sleepWatchingSignal, [250]);
      assert.equal(next.aborted, false);
    });
  });
});

describe('hard time limit', () => {
  for (const where of ['per call', 'pool default']) {
    test(`${where}: the job rejects with TimeLimitExceeded on time; the worker is killed and replaced`, async (t) => {
      const poolOpts = where === 'pool default' ? { timeout: 200 } : {};
      const callOpts = where === 'per call' ? { timeout: 200 } : {};
      await withPool(poolOpts, async (pool) => {
        const { r, accepted, timeouts } = instrumented(pool, T.sleepForever, [], callOpts);
        const o = await outcome(r.get());
        const { pid, time } = await accepted;
        assert.equal(o.ok, false);
        assert.ok(o.error instanceof TimeLimitExceeded, `got ${o.error?.constructor?.name}`);
        assertOnTime(t, 'hard limit', performance.timeOrigin + o.at, time + 200);
        assert.equal(timeouts.filter((x) => !x.soft).length, 1);
        assert.equal(timeouts.at(-1).timeout, 200);
        await until(() => !alive(pid), 3000, `worker ${pid} killed`);
        assert.equal(pool.workerPids().filter((p) => alive(p)).length, 2);
        assert.ok(!pool.workerPids().includes(pid) || !alive(pid));
        assert.equal(await pool.apply(T.square, [3]), 9);
      });
    });
  }

  test('a worker that ignores SIGTERM is SIGKILLed; the job still rejects on time', async (t) => {
    await withPool({ processes: 1, timeout: 200 }, async (pool) => {
      const { r, accepted } = instrumented(pool, T.ignoreSigterm, []);
      const o = await outcome(r.get());
      const { pid, time } = await accepted;
      assert.ok(o.error instanceof TimeLimitExceeded);
      assertOnTime(t, 'hard limit (SIGTERM ignored)', performance.timeOrigin + o.at, time + 200);
      const t0 = performance.now();
      await until(() => !alive(pid), 5000, `worker ${pid} SIGKILLed`);
      t.diagnostic(`worker gone ${(performance.now() - t0).toFixed(0)} ms after the job rejected`);
      assert.equal(await pool.apply(T.getPid).then((p) => p !== pid), true);
    });
  });

  test('a worker whose synchronous code blocks is killed on time', async (t) => {
    await withPool({ processes: 1 }, async (pool) => {
      const { r, accepted } = instrumented(pool, T.block, [10_000], { timeout: 200 });
      const o = await outcome(r.get());
      const { pid, time } = await accepted;
      assert.ok(o.error instanceof TimeLimitExceeded);
      assertOnTime(t, 'hard limit (blocked worker)', performance.timeOrigin + o.at, time + 200);
      await until(() => !alive(pid), 3000, `worker ${pid} killed`);
    });
  });

  test('soft then hard: the soft limit fires first, then the hard one', async (t) => {
    await withPool({ softTimeout: 100, timeout: 300 }, async (pool) => {
      const { r, accepted, timeouts } = instrumented(pool, T.sleepForever, []);
      const o = await outcome(r.get());
      const { time } = await accepted;
      assert.ok(o.error instanceof TimeLimitExceeded);
      assert.deepEqual(timeouts.map((x) => [x.soft, x.timeout]), [[true, 100], [false, 300]]);
      assertOnTime(t, 'soft', timeouts[0].at, time + 100);
      assertOnTime(t, 'hard', performance.timeOrigin + o.at, time + 300);
    });
  });

  test('limits count from acceptance, not from submission', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const first = pool.applyAsync(T.sleep, [300, 'first']);
      // Queued ~300 ms behind `first`, runs 100 ms: within a 200 ms limit counted from acceptance.
      const second = pool.applyAsync(T.sleep, [100, 'second'], { timeout: 200, softTimeout: 150 });
      assert.equal(await first.get(), 'first');
      assert.equal(await second.get(), 'second');
    });
  });

  test('the queue moves on after a hard limit: the next job runs on the replacement', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const doomed = pool.applyAsync(T.sleepForever, [], { timeout: 150 });
      const next = pool.applyAsync(T.getPid);
      const nextPid = await next.get();
      await assert.rejects(doomed.get(), TimeLimitExceeded);
      assert.ok(nextPid > 0);
    });
  });
});

describe('time limits with map and imap', () => {
  test('map with a pool hard limit: TimeLimitExceeded for the slow chunk, the pool lives on', async (t) => {
    await withPool({ timeout: 300 }, async (pool) => {
      const t0 = performance.now();
      const o = await outcome(pool.map(T.sleepItem, [10, 5000, 10, 10], 1));
      assert.equal(o.ok, false);
      assert.ok(o.error instanceof TimeLimitExceeded, `got ${o.error?.constructor?.name}`);
      t.diagnostic(`map rejected after ${(o.at - t0).toFixed(0)} ms (limit 300 ms from acceptance)`);
      assert.ok(o.at - t0 >= 300 && o.at - t0 < 300 + 1000);
      assert.deepEqual(await pool.map(T.square, [1, 2, 3]), [1, 4, 9]);
    });
  });

  test('mapAsync / starmapAsync take per-call limits', async () => {
    await withPool({}, async (pool) => {
      await assert.rejects(pool.mapAsync(T.sleepItem, [10, 5000], { chunksize: 1, timeout: 200 }).get(), TimeLimitExceeded);
      await assert.rejects(pool.starmapAsync(T.sleep, [[5000]], { timeout: 200 }).get(), TimeLimitExceeded);
      // Soft: each chunk is aborted at its own deadline and may finish.
      const out = await pool.mapAsync(T.awaitSoftLimit, [5000, 5000, 5000], { chunksize: 1, softTimeout: 100 }).get();
      for (const v of out) assert.equal(v.reasonName, 'SoftTimeLimitExceeded');
    });
  });

  test('imap with a pool hard limit: the slow item fails at its position, the others come', async () => {
    await withPool({ timeout: 300 }, async (pool) => {
      const it = pool.imap(T.sleepItem, [10, 5000, 20]);
      assert.deepEqual(await it.next(), { value: 10, done: false });
      await assert.rejects(it.next(), TimeLimitExceeded);
      assert.deepEqual(await it.next(), { value: 20, done: false });
      assert.equal((await it.next()).done, true);
      const un = await toArray(pool.imapUnordered(T.sleepItem, [5000, 10])).then(() => null, (e) => e);
      assert.ok(un instanceof TimeLimitExceeded);
    });
  });

  test('imap with a pool soft limit: every task sees its own abort', async () => {
    await withPool({ softTimeout: 100 }, async (pool) => {
      const out = await toArray(pool.imap(T.awaitSoftLimit, [5000, 5000, 5000]));
      assert.equal(out.length, 3);
      for (const v of out) assert.equal(v.reasonName, 'SoftTimeLimitExceeded');
    });
  });
});

describe('onTimeoutSet / onTimeoutCancel', () => {
  test('called with the result and its limits on acceptance, and when the result arrives', async () => {
    const calls = [];
    await withPool({
      onTimeoutSet: (r, soft, hard) => calls.push(['set', r, soft, hard]),
      onTimeoutCancel: (r) => calls.push(['cancel', r]),
    }, async (pool) => {
      const r = pool.applyAsync(T.sleep, [30], { timeout: 5000, softTimeout: 1000 });
      await r.get();
      assert.deepEqual(calls.map((c) => c[0]), ['set', 'cancel']);
      assert.equal(calls[0][1], r);
      assert.equal(calls[0][2], 1000);
      assert.equal(calls[0][3], 5000);
      assert.equal(calls[1][1], r);
    });
  });

  test('onTimeoutSet with only a pool default', async () => {
    const calls = [];
    await withPool({ timeout: 4000, onTimeoutSet: (r, soft, hard) => calls.push([soft, hard]) }, async (pool) => {
      await pool.apply(T.square, [2]);
      assert.deepEqual(calls, [[null, 4000]]);
    });
  });
});
