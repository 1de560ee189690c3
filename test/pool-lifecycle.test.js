// Pool lifecycle: construction checks, close / terminate / join, 'Pool not
// running' (thrown synchronously), terminate() settling everything, await using
// / Symbol.asyncDispose, programs that end with a pool, and the host process
// left alone (its signals, its exit code, its pid).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BilliardError, Pool, SerializationError, Terminated, TypeError as BTypeError, ValueError,
  activeChildren, getContext,
} from 'billiard';
import * as T from './fixtures/pool-tasks.js';
import { alive, outcome, toArray, until, withPool, within } from './fixtures/pool-helpers.js';
import { fixture, runScript } from './fixtures/helpers.js';

const submitters = {
  apply: (p) => p.apply(T.square, [1]),
  applyAsync: (p) => p.applyAsync(T.square, [1]),
  map: (p) => p.map(T.square, [1]),
  mapAsync: (p) => p.mapAsync(T.square, [1]),
  starmap: (p) => p.starmap(T.add, [[1, 2]]),
  starmapAsync: (p) => p.starmapAsync(T.add, [[1, 2]]),
  imap: (p) => p.imap(T.square, [1]),
  imapUnordered: (p) => p.imapUnordered(T.square, [1]),
};

describe('construction', () => {
  test('invalid processes → ValueError, thrown synchronously, no worker started', () => {
    const before = activeChildren().length;
    for (const bad of [0, -1, 1.5, '2', Number.NaN]) {
      assert.throws(() => new Pool({ processes: bad, modules: [T.POOL_TASKS] }),
        (e) => e instanceof ValueError && e.message === 'Number of processes must be at least 1', `processes ${bad}`);
    }
    assert.throws(() => new Pool(0), ValueError);
    assert.equal(activeChildren().length, before);
  });

  test('invalid maxTasksPerChild → ValueError (CPython message)', () => {
    for (const bad of [0, -1, 0.5, '12']) {
      assert.throws(() => new Pool({ processes: 1, maxTasksPerChild: bad }),
        (e) => e instanceof ValueError && e.message === 'maxtasksperchild must be a positive int or None', `maxTasksPerChild ${bad}`);
    }
  });

  test('a non-callable initializer → TypeError', () => {
    for (const bad of ['init', 42, {}]) {
      assert.throws(() => new Pool({ processes: 1, initializer: bad }),
        (e) => e instanceof BTypeError && e instanceof BilliardError && e.message === 'initializer must be a callable');
    }
  });

  test('other invalid options are rejected at construction', () => {
    assert.throws(() => new Pool({ processes: 1, timeout: -1 }), ValueError);
    assert.throws(() => new Pool({ processes: 1, softTimeout: Number.NaN }), ValueError);
    assert.throws(() => new Pool({ processes: 1, maxMemoryPerChild: 0 }), ValueError);
    assert.throws(() => new Pool({ processes: 1, maxRestarts: -1 }), ValueError);
  });

  test('new Pool(n) and context.Pool', async () => {
    const pool = new Pool(1);
    try {
      assert.equal(pool.processes, 1);
      assert.equal(await pool.apply(T.square, [3]), 9);
    } finally {
      await pool.terminate();
    }
    const ctx = getContext('spawn');
    const cpool = new ctx.Pool({ processes: 1 });
    try {
      assert.ok(cpool instanceof Pool);
      assert.equal(await cpool.apply(T.square, [4]), 16);
    } finally {
      await cpool.terminate();
    }
  });

  test('a pool cannot be passed to a task', async () => {
    await withPool({}, async (pool) => {
      const err = await pool.apply(T.identity, [pool]).then(() => null, (e) => e);
      assert.ok(err instanceof SerializationError, String(err));
      assert.match(err.message, /pool objects cannot be passed between processes or pickled/);
    });
  });
});

describe('close / join', () => {
  test('after close(), every submit method throws ValueError("Pool not running") synchronously', async () => {
    await withPool({}, async (pool) => {
      pool.close();
      for (const [name, submit] of Object.entries(submitters)) {
        assert.throws(() => submit(pool), (e) => e instanceof ValueError && e.message === 'Pool not running', name);
      }
      assert.throws(() => pool.grow(), ValueError);
      await pool.join();
    });
  });

  test('join() before close() throws ValueError("Pool is still running") synchronously', async () => {
    await withPool({}, async (pool) => {
      assert.throws(() => pool.join(), (e) => e instanceof ValueError && e.message === 'Pool is still running');
      assert.equal(await pool.apply(T.square, [2]), 4);
    });
  });

  test('close() lets outstanding work finish; join() resolves once every worker exited', async () => {
    await withPool({}, async (pool) => {
      const pids = pool.workerPids();
      const r = pool.applyAsync(T.sleep, [200, 'done']);
      const m = pool.mapAsync(T.sleepItem, [50, 100, 150], { chunksize: 1 });
      const it = pool.imap(T.square, [1, 2, 3]);
      pool.close();
      pool.close(); // idempotent
      await within(pool.join(), 5000, 'join()');
      assert.equal(await r.get(), 'done');
      assert.deepEqual(await m.get(), [50, 100, 150]);
      assert.deepEqual(await toArray(it), [1, 4, 9]);
      for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} alive after join()`);
      assert.deepEqual(pool.workerPids(), []);
    });
  });

  test('close() + join() of an idle pool takes milliseconds', async (t) => {
    await withPool({ processes: 4 }, async (pool) => {
      await pool.map(T.square, [1, 2, 3, 4], 1);
      const t0 = performance.now();
      pool.close();
      await within(pool.join(), 5000, 'join()');
      const took = performance.now() - t0;
      t.diagnostic(`close() + join() of 4 idle workers: ${took.toFixed(1)} ms`);
      assert.ok(took < 1000, `took ${took.toFixed(0)} ms`);
    });
  });

  // BUG: close() while a map/imap is still reading an async input lets join() resolve at once and the map/imap never completes (host kept alive forever): not-yet-submitted jobs are invisible to #pending (pool.ts:180, 195-247), so close() → #afterProgress (pool.ts:529-541) retires every worker, and later #submit queues jobs no worker will take.
  test('close() while an async input is still being read: map / imap still complete, join() waits for them', async () => {
    await withPool({}, async (pool) => {
      const pids = pool.workerPids();
      const slow = async function* () {
        // The first item comes once the original workers are gone, or after 1 s if they stay (as they should).
        await until(() => pids.every((p) => !alive(p)), 1000).catch(() => {});
        for (let i = 1; i <= 3; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          yield i;
        }
      };
      const m = pool.mapAsync(T.square, slow());
      const it = pool.imap(T.square, slow());
      pool.close();
      await within(pool.join(), 5000, 'join()');
      assert.equal(m.ready(), true, 'join() resolved before the map was done');
      assert.deepEqual(await within(m.get(), 3000, 'map'), [1, 4, 9]);
      assert.deepEqual(await within(toArray(it), 3000, 'imap'), [1, 4, 9]);
    });
  });

  // BUG: same root cause: imap() then close() in the same tick — the pump has not submitted anything yet, so close() shuts every worker down and the pool then spawns new ones for the imap.
  test('imap() then close() at once: the running workers do the work (none replaced)', async () => {
    await withPool({}, async (pool, seen) => {
      await pool.apply(T.square, [1]);
      const it = pool.imap(T.square, [1, 2, 3]);
      pool.close();
      await within(pool.join(), 5000, 'join()');
      assert.deepEqual(await toArray(it), [1, 4, 9]);
      assert.equal(seen.size, 2, `${seen.size} workers started for a 2-worker pool`);
    });
  });

  test('join() twice, and terminate() after join()', async () => {
    await withPool({}, async (pool) => {
      pool.close();
      await pool.join();
      await pool.join();
      await within(pool.terminate(), 2000, 'terminate() after join()');
    });
  });
});

describe('terminate', () => {
  test('after terminate(), every submit method throws ValueError("Pool not running") synchronously', async () => {
    await withPool({}, async (pool) => {
      await pool.terminate();
      for (const [name, submit] of Object.entries(submitters)) {
        assert.throws(() => submit(pool), (e) => e instanceof ValueError && e.message === 'Pool not running', name);
      }
      await pool.join();
      await pool.terminate();
    });
  });

  test('terminate() settles every pending job with Terminated, kills every worker, and resolves', async (t) => {
    await withPool({ processes: 2 }, async (pool, seen) => {
      const running = pool.applyAsync(T.sleepForever);
      const queued = [1, 2, 3].map(() => pool.applyAsync(T.sleepForever));
      const m = pool.mapAsync(T.sleepItem, [60_000, 60_000]);
      const s = pool.starmapAsync(T.sleep, [[60_000]]);
      const it = pool.imap(T.sleepItem, [60_000]);
      const un = pool.imapUnordered(T.sleepItem, [60_000]);
      const itNext = outcome(it.next());
      const unNext = outcome(un.next());
      const viaApply = outcome(pool.apply(T.sleepForever));
      const viaMap = outcome(pool.map(T.sleepItem, [60_000]));
      await running.wait({ timeout: 100 });
      const t0 = performance.now();
      await within(pool.terminate(), 3000, 'terminate()');
      t.diagnostic(`terminate() took ${(performance.now() - t0).toFixed(1)} ms`);
      const all = [
        ...[running, ...queued, m, s].map((r) => outcome(r.get())),
        itNext, unNext, viaApply, viaMap,
      ];
      for (const o of await within(Promise.all(all), 1000, 'pending jobs')) {
        assert.equal(o.ok, false);
        assert.ok(o.error instanceof Terminated, `got ${o.error?.constructor?.name}: ${o.error?.message}`);
      }
      for (const pid of seen) assert.equal(alive(pid), false, `worker ${pid} alive after terminate()`);
      assert.deepEqual(pool.workerPids(), []);
    });
  });

  test('terminate() resolves even when workers ignore SIGTERM', async (t) => {
    await withPool({}, async (pool, seen) => {
      const a = pool.applyAsync(T.ignoreSigterm);
      const b = pool.applyAsync(T.ignoreSigterm);
      await Promise.all([a.wait({ timeout: 300 }), b.wait({ timeout: 300 })]);
      const t0 = performance.now();
      await within(pool.terminate(), 5000, 'terminate()');
      t.diagnostic(`terminate() with SIGTERM-proof workers took ${(performance.now() - t0).toFixed(0)} ms`);
      for (const pid of seen) assert.equal(alive(pid), false);
      await assert.rejects(a.get(), Terminated);
    });
  });

  test('terminate() during close() settles what is left', async () => {
    await withPool({}, async (pool) => {
      const r = pool.applyAsync(T.sleepForever);
      pool.close();
      const joined = pool.join();
      await within(pool.terminate(), 3000, 'terminate()');
      await within(joined, 1000, 'join() after terminate()');
      await assert.rejects(r.get(), Terminated);
    });
  });

  test('terminate() right after construction', async () => {
    const pool = new Pool({ processes: 2, modules: [T.POOL_TASKS] });
    const pids = pool.workerPids();
    await within(pool.terminate(), 3000, 'terminate()');
    for (const pid of pids) assert.equal(alive(pid), false);
  });

  // BUG: terminate() does not stop an imap's input pump (pool.ts:231-238 keeps iterating after Terminate, feeding Terminated chunks): with a long input terminate() waits for the whole input; with an infinite one the host spins forever.
  test('terminate() stops pulling an imap input', async (t) => {
    await withPool({}, async (pool) => {
      let pulls = 0;
      function* big() { for (let i = 0; i < 100_000; i++) { pulls++; yield i; } } // capped, so a failure stays cheap
      const it = pool.imap(T.square, big());
      assert.deepEqual(await it.next(), { value: 0, done: false });
      const atTerminate = pulls;
      await within(pool.terminate(), 5000, 'terminate()');
      await new Promise((resolve) => setImmediate(resolve));
      t.diagnostic(`input pulled ${pulls - atTerminate} more times after terminate()`);
      assert.ok(pulls - atTerminate < 100, `input pulled ${pulls - atTerminate} more times after terminate()`);
    });
  });
});

describe('scopes and programs', () => {
  test('Symbol.asyncDispose terminates the pool', async () => {
    const pool = new Pool({ processes: 2, modules: [T.POOL_TASKS] });
    const pids = pool.workerPids();
    const r = pool.applyAsync(T.sleepForever);
    assert.equal(await pool.apply(T.square, [2]), 4);
    await within(pool[Symbol.asyncDispose](), 3000, 'asyncDispose');
    await assert.rejects(r.get(), Terminated);
    for (const pid of pids) assert.equal(alive(pid), false);
    assert.throws(() => pool.apply(T.square, [1]), ValueError);
  });

  test('`await using pool = new Pool()` (TypeScript under tsx) terminates at scope exit', async () => {
    const r = await runScript(fixture('pool-await-using.ts'), [], { execArgv: ['--import', 'tsx'], timeout: 30_000 });
    assert.equal(r.timedOut, false, r.stderr);
    assert.match(r.stdout, /RESULT 36/, r.stderr);
    assert.match(r.stdout, /PENDING Terminated/);
    assert.match(r.stdout, /ALIVE 0 of 2/);
    assert.equal(r.code, 0, r.stderr);
  });

  for (const mode of ['idle', 'close', 'close-join']) {
    test(`a program that leaves its pool ${mode === 'idle' ? 'running (idle)' : `after ${mode}`} ends by itself, its workers with it`, async () => {
      const t0 = performance.now();
      const r = await runScript(fixture('pool-scenario.js'), [mode], { timeout: 15_000 });
      assert.equal(r.timedOut, false, `the program did not end:\n${r.stdout}${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /RESULT 25/);
      assert.match(r.stdout, /END/);
      const pids = JSON.parse(/PIDS (\[.*\])/.exec(r.stdout)[1]);
      await until(() => pids.every((p) => !alive(p)), 3000, 'workers gone after the program ended');
      assert.ok(performance.now() - t0 < 10_000);
    });
  }
});

describe('the host is left alone', () => {
  test('bad tasks never kill the pool, and the pool never signals the host or sets its exit code', async () => {
    const realKill = process.kill;
    const targets = [];
    process.kill = function (pid, sig) {
      targets.push(pid);
      return realKill.call(process, pid, sig);
    };
    const exitCodeBefore = process.exitCode;
    const signalsBefore = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'].map((s) => process.listenerCount(s));
    try {
      await withPool({ processes: 2, maxRestarts: 3, maxRestartFreq: 60_000 }, async (pool) => {
        await assert.rejects(pool.apply(T.fail, ['x']));
        await assert.rejects(pool.apply(T.unserializableResult));
        await assert.rejects(pool.apply(T.identity, [() => 1]));
        await assert.rejects(pool.apply(T.sleepForever, [], { timeout: 100 }));
        await assert.rejects(pool.apply(T.killSelf));
        await assert.rejects(pool.apply(T.exitWith, [1]));
        const { pid } = await new Promise((resolve) => {
          pool.applyAsync(T.sleepForever, [], { acceptCallback: (p) => resolve({ pid: p }) });
        });
        pool.terminateJob(pid);
        // Everything still works at full size.
        const pids = await Promise.all([pool.applyAsync(T.spanOf, [150]).get(), pool.applyAsync(T.spanOf, [150]).get()]);
        assert.notEqual(pids[0].pid, pids[1].pid);
        // Now exceed the restart limit: the pool breaks, the host does not.
        for (let i = 0; i < 4; i++) {
          try {
            await pool.apply(T.exitWith, [1]);
          } catch (err) {
            if (err instanceof ValueError) break; // the pool broke: 'Pool not running'
          }
        }
        assert.throws(() => pool.apply(T.square, [1]), ValueError);
      });
    } finally {
      process.kill = realKill;
    }
    const bad = targets.filter((pid) => pid === process.pid || pid === 0 || pid < 0 || pid === process.ppid);
    assert.deepEqual(bad, [], 'the pool signalled the host or a process group');
    assert.equal(process.exitCode, exitCodeBefore);
    assert.deepEqual(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'].map((s) => process.listenerCount(s)), signalsBefore);
  });
});
