// Tasks: by reference (main module, `modules`, registerModule), typed handles
// (taskModule), by source; TypeScript task modules under tsx; the main module
// imported by children; the fork-bomb guard.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Pipe, Process, SerializationError, TaskSerializationError, isMainProcess, taskModule,
} from 'billiard';
import { TASKS, TSX, fixture, reap, runScript } from './fixtures/helpers.js';
import { replyArgs } from './fixtures/tasks.js';
import { registeredTask } from './fixtures/registered.js';
import { startInSameTick } from './fixtures/same-tick.js';

/** Start `target(conn, ...args)` in a child, return its first message and exit code. */
async function runWithPipe(target, args = [], opts = {}) {
  const [a, b] = Pipe();
  const p = new Process({ target, args: [b, ...args], ...opts });
  try {
    p.start();
    b.close();
    const result = await a.recv();
    await p.join();
    return { result, exitcode: p.exitcode };
  } finally {
    a.close();
    b.close();
    await reap(p);
  }
}

describe('by reference', () => {
  test('an export of a module given in `modules`', async () => {
    const { result, exitcode } = await runWithPipe(replyArgs, [1, 'two'], { modules: [TASKS] });
    assert.deepEqual(result, [1, 'two']);
    assert.equal(exitcode, 0);
  });

  test('an export of a module that called registerModule(import.meta.url)', async () => {
    const { result, exitcode } = await runWithPipe(registeredTask, [5]);
    assert.equal(result.from, 'registered');
    assert.equal(result.x, 5);
    assert.notEqual(result.pid, process.pid);
    assert.equal(exitcode, 0);
  });

  test('start() in the same tick as registerModule(import.meta.url)', async () => {
    const { p, conn } = startInSameTick();
    try {
      assert.equal(await conn.recv(), 'same tick ok');
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      conn.close();
      await reap(p);
    }
  });

  test('an export of the main module: the child imports the main module and runs its top level', async () => {
    const r = await runScript(fixture('main-target.js'));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^TOPLEVEL isMain=true pid=\d+$/);
    // The child ran the main module's top level too, with isMainProcess() false.
    const childTop = lines.find((l) => /^TOPLEVEL isMain=false/.test(l));
    assert.ok(childTop, r.stdout + r.stderr);
    const result = JSON.parse(lines.find((l) => l.startsWith('RESULT ')).slice(7));
    assert.equal(childTop, `TOPLEVEL isMain=false pid=${result.pid}`);
    assert.equal(result.isMain, false);
    assert.ok(lines.includes('EXITCODE 0'), r.stdout + r.stderr);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a main module that starts and awaits a child from its top-level await does not deadlock', async () => {
    const r = await runScript(fixture('tla.js'), [], { timeout: 20_000 });
    assert.equal(r.timedOut, false, 'deadlocked');
    assert.match(r.stdout, /RESULT \{"doubled":42,"isMain":false\}/);
    assert.match(r.stdout, /EXITCODE 0/);
    assert.equal(r.code, 0, r.stderr);
  });

  test('receiving an error class exported by the main module during its top-level await does not deadlock', async () => {
    const r = await runScript(fixture('tla-class.js'), [], { timeout: 20_000 });
    assert.equal(r.timedOut, false, 'deadlocked');
    // The main module cannot be imported while it evaluates: the error keeps its name, code and message.
    assert.match(r.stdout, /RESULT \{"isMainError":(true|false),"code":"E_MAIN","message":"from child","name":"Error"\}/, `exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
  });

  test('…and keeps its class when the main module registers it (registerClass)', async () => {
    const r = await runScript(fixture('tla-class.js'), [], { timeout: 20_000, env: { BILLIARD_REGISTER: '1' } });
    assert.match(r.stdout, /RESULT \{"isMainError":true,"code":"E_MAIN","message":"from child","name":"Error"\}/, `exit ${r.code}\n${r.stdout}${r.stderr}`);
  });
});

describe('fork-bomb guard', () => {
  test('starting a process from top-level code while a child bootstraps throws a ProcessError explaining isMainProcess()', async () => {
    const r = await runScript(fixture('fork-bomb.js'), [], { timeout: 30_000 });
    assert.equal(r.timedOut, false);
    const tops = r.stdout.match(/^TOPLEVEL /gm) ?? [];
    assert.equal(tops.length, 2, `exactly the parent and one child ran the top level:\n${r.stdout}`);
    assert.match(r.stdout, /START FAILED name=RuntimeError processError=true/);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.doesNotMatch(r.stdout, /BOMB TASK RAN/);
    assert.match(r.stderr, /isMainProcess\(\)/);
    assert.match(r.stderr, /bootstrapping phase/);
    assert.equal(r.code, 0);
  });

  test('isMainProcess() is true in the main process', () => {
    assert.equal(isMainProcess(), true);
  });
});

describe('typed handles: taskModule', () => {
  const typed = new URL('./fixtures/typed-tasks.js', import.meta.url);

  test('a named export through taskModule<typeof import(...)>(url) runs in the child', async () => {
    const t = taskModule(typed);
    const { result, exitcode } = await runWithPipe(t.greet, ['world', 2]);
    assert.equal(result, 'hello hello world');
    assert.equal(exitcode, 0);
  });

  test('the default export, and a URL given as a string', async () => {
    const t = taskModule(typed.href);
    const { result } = await runWithPipe(t.default, []);
    assert.equal(result, 'default export ran');
  });

  test('a handle called in this process runs the export here', async () => {
    const t = taskModule(typed);
    assert.equal(await t.square(7), 49);
  });

  test('a handle on a missing export fails clearly in the child (exit 1, names the export)', async () => {
    const r = await runScript(fixture('runner.js'), [typed.href, 'noSuchExport']);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.match(r.stderr, /noSuchExport/);
  });
});

describe('by source', () => {
  test('a self-contained arrow function', async () => {
    const double = async (conn, x) => { conn.send(x * 2); await conn.drain(); };
    const { result, exitcode } = await runWithPipe(double, [21]);
    assert.equal(result, 42);
    assert.equal(exitcode, 0);
  });

  test('a self-contained function using globals and await import()', async () => {
    async function platformInfo(conn) {
      const os = await import('node:os');
      conn.send({ platform: os.platform(), pid: process.pid, hasBuffer: typeof Buffer === 'function' });
      await conn.drain();
    }
    const { result } = await runWithPipe(platformInfo);
    assert.equal(result.platform, process.platform);
    assert.notEqual(result.pid, process.pid);
    assert.equal(result.hasBuffer, true);
  });

  test('method shorthand', async () => {
    const holder = { async shorthand(conn) { conn.send('shorthand'); await conn.drain(); } };
    const { result } = await runWithPipe(holder.shorthand);
    assert.equal(result, 'shorthand');
  });

  test('a function using a name the child lacks fails with TaskSerializationError naming it (child stderr, exit 1)', async () => {
    const r = await runScript(fixture('source-tasks.js'), ['missing']);
    assert.match(r.stdout, /EXITCODE 1/);
    assert.doesNotMatch(r.stdout, /RESULT/);
    assert.match(r.stderr, /TaskSerializationError/);
    assert.match(r.stderr, /'secretFactor'/);
    assert.match(r.stderr, /export/, 'says how to export the function instead');
  });

  test('the same scenario with a self-contained function works', async () => {
    const r = await runScript(fixture('source-tasks.js'), ['ok']);
    assert.match(r.stdout, /RESULT 42/);
    assert.match(r.stdout, /EXITCODE 0/);
  });

  test('what cannot be sent throws synchronously from start()', () => {
    for (const bad of [Math.max, (function f() {}).bind(null), class Foo {}]) {
      const p = new Process({ target: bad });
      assert.throws(() => p.start(), (err) => err instanceof TaskSerializationError && err instanceof SerializationError);
      assert.equal(p.pid, undefined);
      assert.equal(p.exitcode, null);
    }
  });
});

describe('TypeScript under tsx', () => {
  test('a .ts main module runs .ts task modules in children (modules, taskModule, main, by source)', async () => {
    const r = await runScript(fixture('ts-main.ts'), [], { execArgv: ['--import', 'tsx'], timeout: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, r.stdout + r.stderr);
    const out = JSON.parse(line.slice(7));
    assert.deepEqual(out.modules, { result: { area: 9, scale: 2, file: 'ts-tasks.ts' }, exitcode: 0 });
    assert.deepEqual(out.taskModule, { result: { area: 3, scale: 2, file: 'ts-tasks.ts' }, exitcode: 0 });
    assert.deepEqual(out.main, { result: { mainTs: 42 }, exitcode: 0 });
    assert.deepEqual(out.source, { result: { source: 15 }, exitcode: 0 });
    assert.deepEqual(out.error, { cls: 'TsError', isTsError: true, code: 'E_TS', message: 'typed failure', exitcode: 0 });
  });

  test('the tsx binary works as the parent too', async () => {
    const r = await new Promise((resolve) => {
      import('node:child_process').then(({ execFile }) => {
        const env = { ...process.env, BILLIARD_SCENARIO: '1' };
        delete env.NODE_TEST_CONTEXT;
        execFile(TSX, [fixture('ts-main.ts')], { env, timeout: 60_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
      });
    });
    assert.equal(r.err, null, r.stderr);
    assert.match(r.stdout, /"isTsError":true/);
  });
});
