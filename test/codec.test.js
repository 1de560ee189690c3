// The codec: what survives a Pipe round trip and a Process argument trip, and
// what fails with SerializationError naming its path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BilliardError, Pipe, Process, SerializationError, ValueError, registerModule,
} from 'billiard';
import { TASKS, fixture, reap, runScript } from './fixtures/helpers.js';
import {
  FixtureError, Point, RegisteredError, checkErrors, checkSample, describeArg, makeErrors, makeSample, noop, roundTrip, sendErrors,
} from './fixtures/tasks.js';

const modules = [TASKS];

/** Send `value` through a fresh Pipe in this process and receive it. */
async function viaPipe(value) {
  const [a, b] = Pipe();
  try {
    a.send(value);
    return await b.recv();
  } finally {
    a.close();
    b.close();
  }
}

describe('what cannot be serialized', () => {
  test('a function in Process args: SerializationError naming args[1].cb, synchronously from start(); the process stays unstarted', () => {
    const p = new Process({ target: noop, args: [1, { cb: () => 1 }], modules });
    assert.throws(() => p.start(), (e) => {
      assert.ok(e instanceof SerializationError && e instanceof BilliardError, e);
      assert.match(e.message, /args\[1\]\.cb/);
      assert.equal(e.path, 'args[1].cb');
      return true;
    });
    assert.equal(p.pid, undefined);
    assert.equal(p.exitcode, null);
    assert.equal(p.isAlive(), false);
  });

  test('a symbol in Process args: SerializationError naming its path', () => {
    const p = new Process({ target: noop, args: [{ deep: [0, Symbol('s')] }], modules });
    assert.throws(() => p.start(), (e) => e instanceof SerializationError && /args\[0\]\.deep\[1\]/.test(e.message));
    assert.equal(p.pid, undefined);
  });

  test('conn.send(): SerializationError naming the path, synchronously, nothing sent', async () => {
    const [a, b] = Pipe();
    try {
      assert.throws(() => a.send({ list: [1, { cb() {} }] }), (e) => e instanceof SerializationError && /list\[1\]\.cb/.test(e.message) &&
        /list\[1\]\.cb$/.test(e.path));
      assert.throws(() => a.send([Symbol('x')]), (e) => e instanceof SerializationError && /\[0\]/.test(e.message));
      assert.throws(() => a.send(new Map([['k', () => 1]])), SerializationError);
      assert.throws(() => a.send({ p: Promise.resolve(1) }), (e) => e instanceof SerializationError && /\.p\b/.test(e.message));
      assert.throws(() => a.send({ w: new WeakMap() }), SerializationError);
      assert.equal(await b.poll(50), false, 'nothing was sent');
      // The connection still works.
      a.send('ok');
      assert.equal(await b.recv(), 'ok');
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('Pipe round trip', () => {
  test('Map, Set, Date, RegExp, BigInt, typed arrays, Buffers, cycles, shared references, registered class instances', async () => {
    const got = await viaPipe(makeSample());
    assert.deepEqual(checkSample(got), []);
  });

  // Known limitation: a plain number -0 arrives as 0 (msgpackr packs it as the integer 0);
  // inside a Float64Array it survives.
  test('-0 stays -0', { todo: 'msgpackr encodes the number -0 as the integer 0' }, async () => {
    const got = await viaPipe({ z: -0, list: [-0], f64: Float64Array.of(-0) });
    assert.ok(Object.is(got.z, -0));
    assert.ok(Object.is(got.list[0], -0));
    assert.ok(Object.is(got.f64[0], -0));
  });

  test('registerClass(C): instances keep their prototype and methods', async () => {
    const got = await viaPipe({ pts: [new Point(1, 2), new Point(6, 8)] });
    assert.ok(got.pts[0] instanceof Point);
    assert.equal(got.pts[1].norm(), 10);
    assert.deepEqual({ ...got.pts[0] }, { x: 1, y: 2 });
  });

  test('errors keep class (built-in, billiard\'s, registered, exported), message, stack, cause, code and own properties', async () => {
    registerModule(TASKS);
    // registerModule learns the exports once the module is loaded (not synchronously).
    await new Promise((resolve) => setImmediate(resolve));
    const sent = makeErrors();
    const got = await viaPipe(sent);
    assert.deepEqual(checkErrors(got), []);
    assert.equal(got[0].stack, sent[0].stack);
    assert.ok(got[3] instanceof ValueError && got[3] instanceof BilliardError);
    assert.equal(got[3].code, 'ERR_BILLIARD_VALUE_ERROR');
    assert.ok(got[4] instanceof FixtureError);
    assert.ok(got[5] instanceof RegisteredError);
  });

  test('an error nested in a value, with an error cause chain', async () => {
    const inner = new TypeError('inner');
    const outer = new Error('outer', { cause: inner });
    const got = await viaPipe({ result: { err: outer } });
    assert.ok(got.result.err instanceof Error);
    assert.equal(got.result.err.message, 'outer');
    assert.ok(got.result.err.cause instanceof TypeError);
    assert.equal(got.result.err.cause.stack, inner.stack);
  });
});

describe('Process argument trip', () => {
  /** roundTrip(conn, sample, errors) in a child; resolves what it sent back. */
  async function tripThroughChild(sample, errors) {
    const [a, b] = Pipe();
    const p = new Process({ target: roundTrip, args: [b, sample, errors, false], modules });
    try {
      p.start();
      b.close();
      const r = await a.recv();
      await p.join();
      assert.equal(p.exitcode, 0);
      return r;
    } finally {
      a.close();
      await reap(p);
    }
  }

  test('Map, Set, Date, RegExp, BigInt, typed arrays, Buffers, cycles survive as Process arguments, and back', async () => {
    // The registered class instance is tested by the class-args scenario below.
    const r = await tripThroughChild(makeSample({ withPoint: false }), makeErrors({ registered: false }));
    assert.deepEqual(r.sampleProblems, [], 'as seen by the child');
    assert.deepEqual(checkSample(r.sample), [], 'echoed back');
  });

  test('errors survive as Process arguments, and back (after registerModule of their module)', async () => {
    registerModule(TASKS);
    await new Promise((resolve) => setImmediate(resolve));
    const r = await tripThroughChild(makeSample({ withPoint: false }), makeErrors({ registered: false }));
    assert.deepEqual(r.errorProblems, [], 'as seen by the child');
    assert.deepEqual(checkErrors(r.errors, makeErrors({ registered: false })), [], 'echoed back');
  });

  // BUG: an error class exported by a module given only in `modules` (FixtureError) loses its class when the parent sends it: the parent keys only classes of modules it loaded through loadModule (classes.ts classKey / modules.ts), and `modules` are never loaded in the parent.
  test('errors survive as Process arguments when their module is only in `modules`', async () => {
    const r = await runScript(fixture('errors-args.js'));
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(line.slice(7)), { exitcode: 0, inChild: [], echoed: [] });
  });

  // BUG: a registerClass'd instance in Process args makes the child import the *main module* during boot decoding (codec.ts: an unknown plain class key is assumed to live in the main module, missingModules.add('')), with isMainProcess() still true there (bootstrap.ts calls setParentProcess after decodeBoot).
  test('a registerClass\'d instance as a Process argument arrives with its prototype; the child does not import the main module for it', async () => {
    const r = await runScript(fixture('class-args.js'));
    const tops = r.stdout.match(/^TOPLEVEL .*$/gm) ?? [];
    assert.deepEqual(tops.filter((l) => l.includes('isMain=true')).length, 1, `only the parent is main:\n${r.stdout}`);
    assert.match(r.stdout, /RESULT \{"isPoint":true,"norm":5,"proto":"Point","fields":\{"x":3,"y":4\}\}/, r.stdout + r.stderr);
    assert.match(r.stdout, /EXITCODE 0/);
    assert.equal(tops.length, 1, `the child imported the main module:\n${r.stdout}`);
  });

  test('errors made in the child arrive with their classes and the child\'s stacks', async () => {
    const [a, b] = Pipe();
    const p = new Process({ target: sendErrors, args: [b, false], modules });
    try {
      p.start();
      b.close();
      const got = await a.recv();
      await p.join();
      assert.deepEqual(checkErrors(got, makeErrors({ registered: false })), []);
      assert.ok(got[4] instanceof FixtureError);
      assert.match(got[4].stack, /at makeErrors .*tasks\.js/);
    } finally {
      a.close();
      await reap(p);
    }
  });

  test('args are snapshotted at start(): later mutation does not reach the child', async () => {
    const [a, b] = Pipe();
    const value = { n: 1, list: [1] };
    const p = new Process({ target: describeArg, args: [b, value], modules });
    try {
      p.start();
      value.n = 2;
      value.list.push(2);
      b.close();
      const r = await a.recv();
      await p.join();
      assert.deepEqual(r.fields, { n: 1, list: [1] });
    } finally {
      a.close();
      await reap(p);
    }
  });
});
