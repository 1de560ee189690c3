// The thread start method: each child is a worker_threads thread of this
// process, with spawn's observable semantics (exit codes, pid/ident, join,
// daemons, parentProcess, Pipes, locks and shared memory, nesting, mixing).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import {
  Event, Lock, Pipe, Value, getAllStartMethods, getContext, currentProcess,
} from 'billiard';
import { TSX, fixture, reap, runScript } from './fixtures/helpers.js';
import * as T from './fixtures/thread-tasks.js';

const THREAD_TASKS = new URL('./fixtures/thread-tasks.js', import.meta.url).href;
const modules = [THREAD_TASKS];
const ctx = getContext('thread');

function start(target, args = [], opts = {}) {
  const p = new ctx.Process({ target, args, modules, ...opts });
  p.start();
  return p;
}

/** Start `target(conn, ...args)` with a Pipe; the parent keeps `conn`. */
function startWithPipe(target, args = [], opts = {}) {
  const [a, b] = Pipe();
  const p = start(target, [b, ...args], opts);
  b.close();
  return { p, conn: a };
}

describe('thread context', () => {
  test('is listed and has its own Process class', () => {
    assert.ok(getAllStartMethods().includes('thread'));
    assert.equal(ctx.getStartMethod(), 'thread');
    const p = new ctx.Process({ target: T.returnNothing, modules });
    assert.match(p.name, /^ThreadProcess-\d+$/);
  });

  test('a child reports thread, pid = our pid, ident = its thread id, parentProcess = us', async () => {
    const { p, conn } = startWithPipe(T.whoami, [], { name: 'who' });
    try {
      const who = await conn.recv();
      assert.equal(who.method, 'thread');
      assert.equal(who.pid, process.pid);
      assert.equal(p.pid, process.pid);
      assert.notEqual(who.threadId, threadId);
      assert.equal(who.ident, who.threadId);
      assert.equal(p.ident, who.threadId);
      assert.equal(who.name, 'who');
      assert.equal(who.isMain, false);
      assert.equal(who.parentPid, process.pid);
      assert.equal(who.parentAlive, true);
      await p.join();
      assert.equal(p.exitcode, 0);
      assert.equal(p.isAlive(), false);
      assert.equal(currentProcess().ident, process.pid);
    } finally {
      conn.close();
      await reap(p);
    }
  });
});

describe('exit codes', () => {
  const cases = [
    ['return', T.returnNothing, [], 0],
    ['process.exit(3)', T.exitWith, [3], 3],
    ['process.exit(0)', T.exitWith, [0], 0],
    ['process.exitCode = 5', T.setExitCode, [5], 5],
  ];
  for (const [what, target, args, code] of cases) {
    test(`${what} → ${code}`, async () => {
      const p = start(target, args);
      await p.join();
      assert.equal(p.exitcode, code);
    });
  }

  // Errors print to fd 2: they run in a script of their own, whose stderr is checked.
  test('a throwing target, a rejecting one, an uncaught error: exit code 1 and "Process <name>:" with the stack on stderr', async () => {
    const r = await runScript(fixture('thread-scenario.js'), ['errors']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]);
    assert.deepEqual(result, { throwError: 1, rejectLater: 1, throwUncaught: 1 });
    assert.match(r.stderr, /Process T-throwError:\nRangeError: thread target failed\n\s+at .*thread-tasks\.js/);
    assert.match(r.stderr, /Process T-rejectLater:\nTypeError: async failure/);
    assert.match(r.stderr, /Process T-throwUncaught:\nError: uncaught in a timer/);
  });

  for (const [how, code] of [['terminate', -15], ['kill', -9]]) {
    test(`${how}() of a spinning thread → ${code}; join, isAlive, sentinel`, async () => {
      const { p, conn } = startWithPipe(T.readyThenSpin);
      try {
        assert.equal(await conn.recv(), 'ready');
        assert.equal(p.isAlive(), true);
        assert.equal(p.sentinel.ready(), false);
        await p.join(20); // times out: still spinning
        assert.equal(p.exitcode, null);
        p[how]();
        assert.equal(await p.sentinel.exited, code);
        await p.join();
        assert.equal(p.exitcode, code);
        assert.equal(p.isAlive(), false);
        assert.equal(p.sentinel.ready(), true);
        p.terminate(); // a no-op once stopped
        assert.equal(p.exitcode, code);
        p.close();
        assert.throws(() => p.pid, /closed/);
      } finally {
        conn.close();
        await reap(p);
      }
    });
  }

  for (const blockedIn of ['recvSync', 'Event.waitSync']) {
    test(`terminate() of a thread blocked in ${blockedIn} → −15 promptly`, async () => {
      const event = blockedIn === 'recvSync' ? null : new Event();
      const { p, conn } = startWithPipe(T.readyThenBlock, [event]);
      try {
        assert.equal(await conn.recv(), 'ready');
        await p.join(50); // let it block
        const t0 = performance.now();
        p.terminate();
        await p.join();
        assert.equal(p.exitcode, -15);
        assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
      } finally {
        conn.close();
        await reap(p);
      }
    });
  }

  test('close() while running throws', async () => {
    const { p, conn } = startWithPipe(T.readyThenSleep);
    try {
      await conn.recv();
      assert.throws(() => p.close(), /Cannot close a process while it is still running/);
    } finally {
      conn.close();
      await reap(p);
    }
  });
});

describe('daemons', () => {
  test('a daemonic thread does not keep the program alive; a non-daemonic one does', async () => {
    const r = await runScript(fixture('thread-scenario.js'), ['daemon'], { timeout: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.timedOut, false);
    assert.deepEqual(JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]), { daemonAlive: true, started: true });
    const child = JSON.parse(/CHILD (.*)/.exec(r.stdout)[1]);
    assert.equal(child.method, 'thread');
    assert.equal(child.daemon, false);
  });

  test('the daemon flag reaches the child', async () => {
    const { p, conn } = startWithPipe(T.whoami, [], { daemon: true });
    try {
      assert.equal((await conn.recv()).daemon, true);
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      conn.close();
      await reap(p);
    }
  });
});

describe('sharing with a thread', () => {
  test('a Pipe: the thread answers with recvSync; our copy closed does not close its copy', async () => {
    const { p, conn } = startWithPipe(T.echoSync);
    try {
      for (const x of [1, 2, 21]) {
        conn.send(x);
        assert.equal(await conn.recv(), x * 2);
      }
      conn.send(null);
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('a Lock and a Value: the main thread and two threads increment exactly', async () => {
    const value = Value('i', 0, { lock: false });
    const lock = new Lock();
    const n = 5000;
    const ps = [start(T.increment, [value, lock, n]), start(T.increment, [value, lock, n])];
    try {
      T.increment(value, lock, n);
      for (const p of ps) await p.join();
      assert.deepEqual(ps.map((p) => p.exitcode), [0, 0]);
      assert.equal(value.value, 3 * n);
    } finally {
      await reap(...ps);
    }
  });

  test('an Event: a thread blocked in waitSync wakes when we set it', async () => {
    const event = new Event();
    const done = new Event();
    const [a, b] = Pipe();
    const q = start(T.waitEvent, [event, done, b]);
    b.close();
    try {
      assert.equal(await a.recv(), 'waiting');
      assert.equal(done.isSet(), false);
      event.set();
      assert.equal(await done.wait(10_000), true);
      await q.join();
      assert.equal(q.exitcode, 0);
    } finally {
      a.close();
      await reap(q);
    }
  });
});

describe('nesting and mixing', () => {
  for (const method of ['spawn', 'thread']) {
    test(`a thread child starts a ${method} child`, async () => {
      const { p, conn } = startWithPipe(T.startNested, [method]);
      try {
        const r = await conn.recv();
        assert.equal(r.me, 'thread');
        assert.equal(r.child.method, method);
        assert.equal(r.childExit, 0);
        assert.equal(r.child.parentPid, process.pid);
        if (method === 'spawn') assert.notEqual(r.child.pid, process.pid);
        else assert.equal(r.child.pid, process.pid);
        await p.join();
        assert.equal(p.exitcode, 0);
      } finally {
        conn.close();
        await reap(p);
      }
    });
  }

  test('spawn, forkserver and thread children in one program each report their own method', async () => {
    const r = await runScript(fixture('thread-scenario.js'), ['mixing'], { timeout: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]), {
      spawn: { method: 'spawn', exitcode: 0, samePid: false },
      forkserver: { method: 'forkserver', exitcode: 0, samePid: false },
      thread: { method: 'thread', exitcode: 0, samePid: true },
      default: 'spawn',
    });
  });
});

describe('TypeScript', () => {
  const expected = {
    modules: { result: { area: 9, scale: 2, file: 'ts-tasks.ts' }, exitcode: 0 },
    taskModule: { result: { area: 3, scale: 2, file: 'ts-tasks.ts' }, exitcode: 0 },
    main: { result: { mainTs: 42 }, exitcode: 0 },
    pool: [2, 4, 6],
  };

  test('.ts targets and pool tasks run in threads under node --import tsx', async () => {
    const r = await runScript(fixture('thread-ts-main.ts'), [], { execArgv: ['--import', 'tsx'], timeout: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]), expected);
  });

  test('the same under the tsx command', async () => {
    const r = await runScript(TSX, [fixture('thread-ts-main.ts')], { timeout: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(/RESULT (.*)/.exec(r.stdout)[1]), expected);
  });
});
