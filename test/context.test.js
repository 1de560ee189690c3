// Contexts and start methods, with CPython's semantics (lazy default, force,
// allowNone, errors). The first test must run before anything fixes the default.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Pipe, Process, RuntimeError, ValueError, activeChildren, cpuCount, currentProcess,
  getAllStartMethods, getContext, getStartMethod, parentProcess, setStartMethod,
} from 'billiard';
import { TASKS, reap } from './fixtures/helpers.js';
import { info } from './fixtures/tasks.js';

const modules = [TASKS];

describe('the default context', () => {
  test('is lazy: Pipe(), new Process(), cpuCount(), activeChildren(), getContext("spawn") do not fix it', () => {
    assert.equal(getStartMethod({ allowNone: true }), null);
    const [a, b] = Pipe();
    a.close();
    b.close();
    new Process({ target: info, modules });
    cpuCount();
    activeChildren();
    getContext('spawn');
    getContext('spawn').getStartMethod();
    assert.equal(getStartMethod({ allowNone: true }), null);
  });

  test('getStartMethod() fixes it to spawn', () => {
    assert.equal(getStartMethod(), 'spawn');
    assert.equal(getStartMethod({ allowNone: true }), 'spawn');
  });

  test('setStartMethod once fixed: RuntimeError("context has already been set") unless force', () => {
    assert.throws(() => setStartMethod('spawn'), (e) => e instanceof RuntimeError && e.message === 'context has already been set');
    setStartMethod('spawn', { force: true });
    assert.equal(getStartMethod(), 'spawn');
  });

  test('setStartMethod(null, { force: true }) resets it; setStartMethod when unset fixes it', () => {
    setStartMethod(null, { force: true });
    assert.equal(getStartMethod({ allowNone: true }), null);
    setStartMethod('spawn');
    assert.equal(getStartMethod({ allowNone: true }), 'spawn');
  });

  test('getContext() fixes it and returns the concrete context (a singleton)', () => {
    setStartMethod(null, { force: true });
    const ctx = getContext();
    assert.equal(getStartMethod({ allowNone: true }), 'spawn');
    assert.equal(ctx, getContext('spawn'));
    assert.equal(getContext('spawn'), getContext('spawn'));
    assert.equal(getContext(null), ctx);
    assert.equal(ctx.getStartMethod(), 'spawn');
  });

  test('starting a process of the default context fixes it', async () => {
    setStartMethod(null, { force: true });
    const [a, b] = Pipe();
    const p = new Process({ target: info, args: [b], modules });
    try {
      assert.equal(getStartMethod({ allowNone: true }), null);
      p.start();
      b.close();
      assert.equal(getStartMethod({ allowNone: true }), 'spawn');
      assert.equal((await a.recv()).startMethod, 'spawn');
      await p.join();
    } finally {
      a.close();
      await reap(p);
    }
  });
});

describe('errors', () => {
  test("unknown method: ValueError(\"cannot find context for 'bogus'\")", () => {
    assert.throws(() => getContext('bogus'), (e) => e instanceof ValueError && e.message === "cannot find context for 'bogus'");
    assert.throws(() => setStartMethod('bogus', { force: true }), ValueError);
    assert.equal(getStartMethod(), 'spawn');
  });

  test("'fork' is rejected with a ValueError that says why", () => {
    assert.throws(() => getContext('fork'), (e) => e instanceof ValueError && /fork/.test(e.message) && /Node\.js|cannot fork/i.test(e.message));
    assert.throws(() => setStartMethod('fork', { force: true }), ValueError);
    assert.equal(getStartMethod(), 'spawn');
  });

  test('a concrete context cannot change its start method', () => {
    assert.throws(() => getContext('spawn').setStartMethod('spawn'),
      (e) => e instanceof ValueError && e.message === 'cannot set start method of concrete context');
  });

  test('getAllStartMethods(): spawn first, only known names, no fork', () => {
    const all = getAllStartMethods();
    assert.equal(all[0], 'spawn');
    for (const m of all) assert.ok(['spawn', 'forkserver', 'thread'].includes(m), m);
    assert.ok(!all.includes('fork'));
    assert.deepEqual(getContext('spawn').getAllStartMethods(), all);
  });
});

describe('a concrete context', () => {
  const ctx = getContext('spawn');

  test('has the module-level names as members', () => {
    assert.equal(typeof ctx.Process, 'function');
    const pipe = ctx.Pipe();
    assert.equal(pipe.length, 2);
    pipe.forEach((c) => c.close());
    const [r, w] = ctx.Pipe(false);
    assert.deepEqual([r.readable, r.writable, w.readable, w.writable], [true, false, false, true]);
    r.close();
    w.close();
    assert.equal(ctx.cpuCount(), cpuCount());
    assert.equal(ctx.currentProcess(), currentProcess());
    assert.equal(ctx.parentProcess(), parentProcess());
    assert.deepEqual(ctx.activeChildren(), activeChildren());
    assert.equal(ctx.getStartMethod(), 'spawn');
    assert.equal(ctx.getContext(), ctx);
    assert.equal(ctx.freezeSupport(), undefined);
    assert.equal(typeof ctx.getLogger().info, 'function');
    assert.equal(typeof ctx.logToStderr, 'function');
    assert.equal(typeof ctx.setExecutable, 'function');
    assert.equal(typeof ctx.allowConnectionPickling, 'function');
  });

  test('ctx.Process is named after its method (SpawnProcess-N) and its child reports spawn', async () => {
    setStartMethod(null, { force: true });
    const [a, b] = Pipe();
    const p = new ctx.Process({ target: info, args: [b], modules });
    try {
      assert.ok(p instanceof Process);
      assert.match(p.name, /^SpawnProcess-\d+$/);
      p.start();
      b.close();
      const me = await a.recv();
      await p.join();
      assert.equal(p.exitcode, 0);
      assert.equal(me.name, p.name);
      assert.equal(me.startMethod, 'spawn');
      assert.equal(me.isMain, false);
      // Starting a process of a concrete context does not fix the default (CPython: only
      // the default context's preparation does; a spawn child's does not touch ours).
      assert.equal(getStartMethod({ allowNone: true }), null);
    } finally {
      a.close();
      await reap(p);
    }
  });
});
