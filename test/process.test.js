// Process: options, lifecycle, identity, exit codes, misuse errors (CPython's
// messages), subclasses, nesting, daemons, orphans, stdio.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AssertionError, Pipe, Process, ProcessError, Sentinel, TaskSerializationError, ValueError,
  activeChildren, cpuCount, currentProcess, isMainProcess, parentProcess,
} from 'billiard';
import { TASKS, fixture, goneWithin, joinAlive, pidAlive, reap, runScript, startScript } from './fixtures/helpers.js';
import {
  Worker, exitWith, info, noop, readyThenSleep, setExitCode, spawnChild, asyncReturn, daemonStartsChild,
} from './fixtures/tasks.js';

const modules = [TASKS];

/** Start `target(conn, ...args)`; resolves { p, conn } once started. */
function startWithPipe(target, args = [], opts = {}) {
  const [a, b] = Pipe();
  const p = new Process({ target, args: [b, ...args], modules, ...opts });
  p.start();
  b.close();
  return { p, conn: a };
}

/** A child that is running (it told us its pid) and sleeps until killed. */
async function sleeper(opts = {}) {
  const { p, conn } = startWithPipe(readyThenSleep, [], opts);
  const pid = await conn.recv();
  conn.close();
  assert.equal(pid, p.pid);
  return p;
}

describe('before start', () => {
  test('defaults: no pid/ident/exitcode, not alive, generated name, daemon false, inherited authkey', () => {
    const p = new Process({ target: noop, modules });
    assert.equal(p.pid, undefined);
    assert.equal(p.ident, undefined);
    assert.equal(p.exitcode, null);
    assert.equal(p.isAlive(), false);
    assert.match(p.name, /^Process-\d+$/);
    assert.equal(p.daemon, false);
    assert.ok(Buffer.isBuffer(p.authkey));
    assert.equal(p.authkey.length, 32);
    assert.deepEqual(p.authkey, currentProcess().authkey);
    assert.match(String(p), /^<Process name='Process-\d+' parent=\d+ initial>$/);
  });

  test('names count up per process: Process-N, Process-N+1', () => {
    const a = new Process();
    const b = new Process();
    const n = Number(a.name.split('-')[1]);
    assert.equal(b.name, `Process-${n + 1}`);
  });

  test('options: name, daemon, args (any iterable)', () => {
    const p = new Process({ target: noop, name: 'custom', daemon: true, args: new Set([1, 2]) });
    assert.equal(p.name, 'custom');
    assert.equal(p.daemon, true);
    p.name = 'renamed';
    assert.equal(p.name, 'renamed');
    p.daemon = false;
    assert.equal(p.daemon, false);
    assert.throws(() => { p.name = 5; }, { name: 'AssertionError', message: 'name must be a string' });
  });

  test('sentinel before start: ValueError("process not started")', () => {
    const p = new Process({ target: noop });
    assert.throws(() => p.sentinel, (e) => e instanceof ValueError && e.message === 'process not started');
  });

  // BUG: join() before start (and after close) rejects instead of throwing synchronously (API rule 3; process.ts join() is async).
  test('join() before start throws AssertionError("can only join a started process") synchronously', () => {
    const p = new Process({ target: noop });
    assert.throws(() => { void p.join().catch(() => {}); },
      (e) => e instanceof AssertionError && e instanceof ProcessError && e.message === 'can only join a started process');
  });

  test('join() before start: the error (whether thrown or rejected) is CPython\'s', async () => {
    const p = new Process({ target: noop });
    await assert.rejects(async () => p.join(), (e) => e instanceof AssertionError && e.message === 'can only join a started process');
  });

  test('terminate()/kill() before start throw a ProcessError', () => {
    const p = new Process({ target: noop });
    assert.throws(() => p.terminate(), ProcessError);
    assert.throws(() => p.kill(), ProcessError);
  });
});

describe('lifecycle', () => {
  test('start, pid, ident, isAlive, join, exitcode 0, sentinel, activeChildren', async () => {
    const p = await sleeper();
    try {
      assert.ok(Number.isInteger(p.pid) && p.pid > 0 && p.pid !== process.pid);
      assert.equal(p.ident, p.pid);
      assert.equal(p.isAlive(), true);
      assert.equal(p.exitcode, null);
      assert.ok(activeChildren().includes(p));
      const s = p.sentinel;
      assert.ok(s instanceof Sentinel);
      assert.equal(s.ready(), false);
      assert.match(String(p), new RegExp(`^<Process name='Process-\\d+' pid=${p.pid} parent=${process.pid} started>$`));
      p.terminate();
      assert.equal(await s.exited, -15);
      assert.equal(s.ready(), true);
      await p.join();
      assert.equal(p.isAlive(), false);
      assert.equal(p.exitcode, -15);
      assert.ok(!activeChildren().includes(p));
      assert.match(String(p), /stopped exitcode=-15>$/);
    } finally {
      await reap(p);
    }
  });

  test('join(timeout) returns after the timeout while the child runs; join() waits', async () => {
    const p = await sleeper();
    try {
      const t0 = performance.now();
      await p.join(100);
      const waited = performance.now() - t0;
      assert.ok(waited >= 90 && waited < 5000, `waited ${waited} ms`);
      assert.equal(p.exitcode, null);
      assert.equal(p.isAlive(), true);
      const t1 = performance.now();
      await p.join(0);
      await p.join(-1);
      assert.ok(performance.now() - t1 < 50, 'join(0) / join(-1) return at once');
      p.kill();
      await p.join();
      assert.equal(p.exitcode, -9);
      // Signalling an exited child is a no-op.
      p.terminate();
      p.kill();
      assert.equal(p.exitcode, -9);
    } finally {
      await reap(p);
    }
  });

  test('a child killed from outside reports -signal', async () => {
    const p = await sleeper();
    try {
      process.kill(p.pid, 'SIGINT');
      await p.join();
      assert.equal(p.exitcode, -2);
    } finally {
      await reap(p);
    }
  });

  test('close(): refuses while running, then every use throws ValueError("process object is closed")', async () => {
    const p = await sleeper();
    try {
      assert.throws(() => p.close(), (e) => e instanceof ValueError && e.message ===
        'Cannot close a process while it is still running. You should first call join() or terminate().');
      p.terminate();
      await p.join();
      p.close();
      p.close(); // idempotent
      const closed = (e) => e instanceof ValueError && e.message === 'process object is closed';
      assert.throws(() => p.start(), closed);
      assert.throws(() => p.isAlive(), closed);
      assert.throws(() => p.terminate(), closed);
      assert.throws(() => p.kill(), closed);
      assert.throws(() => p.exitcode, closed);
      assert.throws(() => p.pid, closed);
      assert.throws(() => p.ident, closed);
      assert.throws(() => p.sentinel, closed);
      await assert.rejects(async () => p.join(), closed);
      assert.equal(typeof p.name, 'string');
      assert.match(String(p), /closed/);
    } finally {
      await reap(p);
    }
  });

  test('close() on an unstarted process is allowed', () => {
    const p = new Process({ target: noop });
    p.close();
    assert.throws(() => p.start(), { message: 'process object is closed' });
  });

  test('second start() throws AssertionError("cannot start a process twice"); daemon after start throws', async () => {
    const p = await sleeper();
    try {
      assert.throws(() => p.start(), (e) => e instanceof AssertionError && e instanceof ProcessError &&
        e.message === 'cannot start a process twice');
      assert.throws(() => { p.daemon = true; }, (e) => e instanceof AssertionError && e.message === 'process has already started');
      assert.equal(p.daemon, false);
    } finally {
      await reap(p);
    }
  });

  test('currentProcess().join() throws: can only join a child process', async () => {
    await assert.rejects(async () => currentProcess().join(), { message: 'can only join a child process' });
  });
});

describe('exit codes', () => {
  const exitOf = async (target, args = []) => {
    const p = new Process({ target, args, modules });
    p.start();
    try {
      await p.join();
      return p.exitcode;
    } finally {
      await reap(p);
    }
  };

  test('0 when the target returns', async () => {
    assert.equal(await exitOf(noop), 0);
  });

  test('process.exit(n) → n', async () => {
    assert.equal(await exitOf(exitWith, [7]), 7);
    assert.equal(await exitOf(exitWith, [0]), 0);
  });

  test('process.exitCode = n → n', async () => {
    assert.equal(await exitOf(setExitCode, [3]), 3);
  });

  test('an async target is awaited', async () => {
    const { p, conn } = startWithPipe(asyncReturn);
    try {
      assert.equal(await conn.recv(), 'async done');
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('uncaught error → 1, with "Process <name>:" and the stack on the child\'s stderr', async () => {
    const r = await runScript(fixture('runner.js'), [TASKS, 'throwError', '["boom"]']);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.match(r.stderr, /Process Process-1:/);
    assert.match(r.stderr, /FixtureError: boom/);
    assert.match(r.stderr, /at .*throwError .*tasks\.js/);
  });

  test('a rejected promise from an async target → 1, with the stack on stderr', async () => {
    const r = await runScript(fixture('runner.js'), [TASKS, 'rejectLater', '["rejected!"]']);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.match(r.stderr, /Error: rejected!/);
    assert.match(r.stderr, /at .*rejectLater/);
  });

  test("child stdout and stderr go to the parent's", async () => {
    const r = await runScript(fixture('runner.js'), [TASKS, 'print', '["to stdout","to stderr"]']);
    assert.match(r.stdout, /^to stdout$/m);
    assert.match(r.stderr, /^to stderr$/m);
    assert.match(r.stdout, /EXITCODE 0/);
  });
});

describe('identity', () => {
  test('in the main process', () => {
    const me = currentProcess();
    assert.equal(me.name, 'MainProcess');
    assert.equal(me.pid, process.pid);
    assert.equal(me.ident, process.pid);
    assert.equal(me.isAlive(), true);
    assert.equal(me.daemon, false);
    assert.equal(me.authkey.length, 32);
    assert.equal(parentProcess(), null);
    assert.equal(isMainProcess(), true);
    assert.ok(Number.isInteger(cpuCount()) && cpuCount() >= 1);
  });

  test('in a child: currentProcess, parentProcess, isMainProcess, authkey, start method', async () => {
    const { p, conn } = startWithPipe(info);
    try {
      const me = await conn.recv();
      await p.join();
      assert.equal(me.name, p.name);
      assert.equal(me.pid, p.pid);
      assert.equal(me.processPid, p.pid);
      assert.equal(me.ident, p.pid);
      assert.equal(me.alive, true);
      assert.equal(me.daemon, false);
      assert.equal(me.isMain, false);
      assert.equal(me.startMethod, 'spawn');
      assert.equal(me.authkeyLength, 32);
      assert.equal(me.authkey, currentProcess().authkey.toString('hex'));
      assert.deepEqual(me.parent, { name: 'MainProcess', pid: process.pid, alive: true });
      assert.equal(me.ppid, process.pid);
      assert.equal(me.stdinIsTTY, false);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('the authkey is copied from the current process at construction', async () => {
    const saved = currentProcess().authkey;
    const key = randomBytes(32);
    currentProcess().authkey = key;
    let started;
    try {
      started = startWithPipe(info);
    } finally {
      currentProcess().authkey = saved;
    }
    const { p, conn } = started;
    try {
      assert.deepEqual(p.authkey, key);
      const me = await conn.recv();
      assert.equal(me.authkey, key.toString('hex'));
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('a daemonic child knows it is daemonic', async () => {
    const { p, conn } = startWithPipe(info, [], { daemon: true });
    try {
      const me = await conn.recv();
      assert.equal(me.daemon, true);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  // BUG: a Connection a child passes to its own child arrives broken ("Receiver must be an instance of class Connection"): the child loads dist/connection.js on demand through modules.ts loadModule, which notes Connection as an exported class (codec.ts enableInstances), and that instance extension then shadows the Connection reducer.
  test('children start children: nested names Process-N:1, parentProcess in the grandchild, activeChildren', async () => {
    const { p, conn } = startWithPipe(spawnChild, [{ modules: [TASKS] }]);
    try {
      const r = await conn.recv();
      await p.join();
      assert.equal(p.exitcode, 0);
      assert.equal(r.self.name, p.name);
      assert.equal(r.childName, `${p.name}:1`);
      assert.equal(r.childExit, 0);
      assert.deepEqual(r.active, [r.childName]);
      assert.equal(r.grand.name, r.childName);
      assert.equal(r.grand.pid, r.childPid);
      assert.equal(r.grand.isMain, false);
      assert.equal(r.grand.startMethod, 'spawn');
      assert.deepEqual(r.grand.parent, { name: p.name, pid: p.pid, alive: true });
      assert.equal(r.grand.authkey, currentProcess().authkey.toString('hex'));
      assert.deepEqual(r.self.parent, { name: 'MainProcess', pid: process.pid, alive: true });
    } finally {
      conn.close();
      await reap(p);
    }
  });

  // BUG: a child does not know the modules its parent knew (BootData.modules is sent but bootstrap.ts never registers them), so a child cannot start a grandchild with an export of those modules unless it passes `modules` again.
  test('a child knows the modules its parent passed in `modules` (starts a grandchild without repeating them)', async () => {
    const { p, conn } = startWithPipe(spawnChild);
    try {
      const r = await conn.recv();
      await p.join();
      assert.equal(p.exitcode, 0);
      assert.equal(r.childName, `${p.name}:1`);
      assert.equal(r.grand.name, r.childName);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('the daemon flag is inherited by default (a daemonic child starting a child fails)', async () => {
    const { p, conn } = startWithPipe(daemonStartsChild, [], { daemon: true });
    try {
      const r = await conn.recv();
      await joinAlive(p);
      assert.deepEqual(r, {
        started: false, name: 'AssertionError', message: 'daemonic processes are not allowed to have children', processError: true,
      });
      assert.equal(p.exitcode, 1);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('a daemonic child starting a child: the error is on its stderr and it exits 1', async () => {
    const r = await runScript(fixture('runner.js'), [TASKS, 'daemonStartsChild', '[]', '{"daemon":true}', 'keepalive']);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.match(r.stderr, /daemonic processes are not allowed to have children/);
  });
});

describe('subclasses', () => {
  test('an exported subclass overriding run(): its instance state is sent', async () => {
    const [a, b] = Pipe();
    const w = new Worker(b, 42);
    try {
      w.start();
      b.close();
      const r = await a.recv();
      await w.join();
      assert.equal(w.exitcode, 0);
      assert.equal(r.n, 42);
      assert.equal(r.label, 'worker-label');
      assert.deepEqual(r.tags, ['a', 'b']);
      assert.equal(r.name, w.name);
      assert.match(w.name, /^Worker-\d+$/);
      assert.equal(r.isWorker, true);
      assert.equal(r.isProcess, true);
      assert.equal(r.pid, w.pid);
    } finally {
      a.close();
      await reap(w);
    }
  });

  test('a subclass that is not exported cannot start (TaskSerializationError, synchronously)', () => {
    class Local extends Process { run() {} }
    const p = new Local();
    assert.throws(() => p.start(), TaskSerializationError);
    assert.equal(p.pid, undefined);
  });
});

describe('when the parent goes away', () => {
  test('join() on a daemonic child keeps the program alive until the child exits', async () => {
    const r = await runScript(fixture('runner.js'), [TASKS, 'noop', '[]', '{"daemon":true}']);
    assert.equal(r.code, 0, `exit code ${r.code}: the program ended inside await p.join()`);
    assert.match(r.stdout, /EXITCODE 0/);
  });

  test('at exit, non-daemonic children are joined and daemonic ones terminated', async () => {
    const cp = startScript(fixture('exit-behaviour.js'));
    let pids;
    try {
      pids = JSON.parse((await cp.waitFor(/PIDS (.*)\n/))[1]);
      const { code } = await cp.exited;
      assert.equal(code, 0, cp.stderrText);
      // The main module ended first; the program waited for the worker.
      assert.match(cp.stdoutText, /MAIN END[\s\S]*GO SENT/);
      assert.equal(await goneWithin(pids.worker, 1000), true, 'worker gone');
      assert.equal(await goneWithin(pids.daemon, 1000), true, 'daemonic child terminated');
    } finally {
      cp.kill('SIGKILL');
      if (pids) for (const pid of Object.values(pids)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('no orphans: a SIGKILLed parent\'s children and grandchildren are gone within 1 s', async () => {
    const cp = startScript(fixture('orphans.js'));
    const pids = {};
    try {
      for (const role of ['child', 'grandchild', 'daemon']) {
        pids[role] = Number((await cp.waitFor(new RegExp(`PID ${role} (\\d+)\\n`)))[1]);
      }
      for (const pid of Object.values(pids)) assert.equal(pidAlive(pid), true);
      cp.kill('SIGKILL');
      await cp.exited;
      for (const [what, pid] of Object.entries(pids)) {
        assert.equal(await goneWithin(pid, 1000), true, `${what} (${pid}) still alive 1 s after its parent died`);
      }
    } finally {
      cp.kill('SIGKILL');
      for (const pid of Object.values(pids)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
