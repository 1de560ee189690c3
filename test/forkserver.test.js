// The forkserver start method: warm children handed out by start(), the same
// observable behaviour as spawn, preload modules, and no orphans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListProxy, Pipe, Pool, TypeError as BilliardTypeError, getAllStartMethods, getContext, setForkserverPreload } from 'billiard';
import { fixture, goneWithin, startScript } from './fixtures/helpers.js';

const TASKS = new URL('./fixtures/forkserver-tasks.js', import.meta.url).href;
const PRELOAD = new URL('./fixtures/forkserver-preload.js', import.meta.url).href;
const T = await import(TASKS);
const modules = [TASKS];
const ctx = getContext('forkserver');

/** Start a forkserver child running `target`, wait for it, return its exit code. */
async function exitcodeOf(target, args = []) {
  const p = new ctx.Process({ target, args, modules });
  p.start();
  await p.join();
  return p.exitcode;
}

test('forkserver is a start method with its own context and Process class', () => {
  assert.ok(getAllStartMethods().includes('forkserver'));
  assert.equal(ctx.getStartMethod(), 'forkserver');
  assert.equal(new ctx.Process({ target: T.report, modules }).name.startsWith('ForkServerProcess-'), true);
});

test('setForkserverPreload takes a list of strings only', () => {
  assert.throws(() => setForkserverPreload('mod'), (e) => e instanceof BilliardTypeError && e.message === 'module_names must be a list of strings');
  assert.throws(() => ctx.setForkserverPreload([1]), /module_names must be a list of strings/);
});

test('a forkserver child: pid known at start(), reports its method, preloaded module, parent', async () => {
  ctx.setForkserverPreload([PRELOAD]);
  const [a, b] = Pipe();
  const p = new ctx.Process({ target: T.report, args: [b], modules });
  p.start();
  assert.equal(typeof p.pid, 'number');
  b.close();
  const got = await a.recv();
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.equal(got.pid, p.pid);
  assert.equal(got.method, 'forkserver');
  assert.equal(got.parent, process.pid);
  a.close();
});

test('forkserver children have the preload modules imported', async () => {
  ctx.setForkserverPreload([PRELOAD]);
  // Every forkserver child has the preload modules imported once, warm or (with a Connection argument) cold.
  const pool = new Pool({ processes: 1, context: ctx, modules });
  try {
    const { report } = T;
    const [a, b] = Pipe();
    const p = new ctx.Process({ target: report, args: [b], modules });
    p.start();
    b.close();
    assert.equal((await a.recv()).preloaded, 1);
    await p.join();
    a.close();
    assert.deepEqual(await pool.map(T.square, [1, 2, 3]), [1, 4, 9]);
  } finally {
    await pool.terminate();
  }
});

test('exit codes as spawn: return 0, exit(n), uncaught 1, terminate −15, kill −9', async () => {
  assert.equal(await exitcodeOf(T.pid), 0);
  assert.equal(await exitcodeOf(T.exitWith, [7]), 7);
  assert.equal(await exitcodeOf(T.fail), 1);
  for (const [how, code] of [['terminate', -15], ['kill', -9]]) {
    const p = new ctx.Process({ target: T.sleepForever, modules });
    p.start();
    p[how]();
    await p.join();
    assert.equal(p.exitcode, code);
  }
});

test('a Pool under the forkserver context, with workers replaced after every task', async () => {
  const pool = new Pool({ processes: 2, maxTasksPerChild: 1, context: ctx, modules });
  try {
    const pids = await pool.map(T.pid, Array.from({ length: 6 }, (_, i) => i), 1);
    assert.equal(new Set(pids).size, 6);
  } finally {
    await pool.terminate();
  }
});

test('no orphans: the server, its spare and a running child die with a SIGKILLed parent', async () => {
  const cp = startScript(fixture('forkserver-orphans.js'));
  try {
    const [, list] = await cp.waitFor(/CHILDREN (\S+)/);
    const pids = list.split(',').map(Number);
    cp.kill('SIGKILL');
    await cp.exited;
    const gone = await Promise.all(pids.map((pid) => goneWithin(pid, 1000)));
    assert.deepEqual(gone, pids.map(() => true), `left behind: ${pids.filter((_, i) => !gone[i])}`);
  } finally {
    cp.kill('SIGKILL');
  }
});

test('each forked child draws its own random numbers (Math.random, crypto) and counts its own uptime', async () => {
  const draws = [];
  for (let i = 0; i < 3; i++) {
    const [a, b] = Pipe(false);
    const p = new ctx.Process({ target: T.randoms, args: [b], modules });
    p.start();
    draws.push(JSON.stringify(await a.recv()));
    await p.join();
    a.close();
    b.close();
  }
  for (let k = 0; k < 5; k++) {
    const column = draws.map((d) => JSON.parse(d)[k]);
    assert.equal(new Set(column).size, 3, `draw ${k}: ${column.join(' ')}`);
  }
  // The server has run for a while by now: a child's uptime starts with the child.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const [a, b] = Pipe(false);
  assert.equal(await exitcodeOf(T.uptime, [b]), 0);
  assert.ok(await a.recv() < 1, 'process.uptime() counts from the fork, not from the server’s start');
  a.close();
  b.close();
  for (const x of JSON.parse(draws[0]).slice(0, 3)) assert.ok(x >= 0 && x < 1);
});

test('every way out of a forked child reports its exit code (no teardown hang)', async () => {
  assert.equal(await exitcodeOf(T.throwLater), 1, 'uncaught exception after the target returned');
  assert.equal(await exitcodeOf(T.runDry), 0, 'event loop ran dry');
  const [a, b] = Pipe(false);
  assert.equal(await exitcodeOf(T.withExitListener, [b]), 3, "process.exitCode and an 'exit' listener");
  assert.equal(await a.recv(), 'exit listener saw 3');
  a.close();
  b.close();
});

test('an uncaught exception in a forked child is printed on stderr', async () => {
  const cp = startScript(fixture('forkserver-uncaught.js'));
  await cp.exited;
  assert.match(cp.stderrText, /thrown later in a forkserver child/);
  assert.match(cp.stdoutText, /EXITCODE 1/);
});

test('a forked child starts spawn, forkserver and thread children of its own (the preload module used the forkserver context in the server)', async () => {
  ctx.setForkserverPreload([PRELOAD]);
  const [a, b] = Pipe(false);
  const p = new ctx.Process({ target: T.grandchildren, args: [b], modules });
  p.start();
  const got = await a.recv();
  await p.join();
  a.close();
  b.close();
  assert.equal(p.exitcode, 0);
  assert.deepEqual({ spawn: got.spawn, forkserver: got.forkserver, thread: got.thread }, { spawn: 5, forkserver: 5, thread: 5 });
  assert.ok(!got.execArgv.includes('--single-threaded'), 'the server’s V8 flag is not passed on');
});

test('sibling forked children each get their own forkserver, even when the server had one', async () => {
  // The preload module used the forkserver context inside the server: every child inherits that
  // server's socket, and must not talk on it.
  ctx.setForkserverPreload([PRELOAD]);
  const runs = [0, 1, 2].map(async () => {
    const [a, b] = Pipe(false);
    const p = new ctx.Process({ target: T.nestedForkserverPools, args: [b], modules });
    p.start();
    b.close();
    const watchdog = setTimeout(() => p.kill(), 20_000);
    try {
      const got = await a.recv().catch((err) => String(err));
      await p.join();
      return { got, exitcode: p.exitcode };
    } finally {
      clearTimeout(watchdog);
      a.close();
    }
  });
  for (const { got, exitcode } of await Promise.all(runs)) {
    assert.deepEqual(got, [[1, 4, 9], [1, 4, 9], [1, 4, 9]]);
    assert.equal(exitcode, 0);
  }
});

test('a manager whose server is a forkserver child: proxies inside containers keep their class', async () => {
  const m = await ctx.Manager();
  try {
    const d = await m.dict();
    const l = await m.list([1, 2]);
    await d.set('p', l);
    const again = await d.get('p');
    assert.ok(again instanceof ListProxy);
    assert.equal(again._id, l._id);
    await again.append(3);
    assert.deepEqual(await l.toArray(), [1, 2, 3]);
  } finally {
    await m.shutdown();
  }
});

test('a server killed under us: the next starts still work, and a new server takes over', async () => {
  const { readFileSync } = await import('node:fs');
  const servers = () => readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/)
    .filter((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--billiard-forkserver'); } catch { return false; } })
    .map(Number);
  assert.equal(await exitcodeOf(T.pid), 0);
  const [first] = servers();
  assert.ok(first, 'a server runs');
  process.kill(first, 'SIGKILL');
  // At once, before this process has seen it exit.
  assert.equal(await exitcodeOf(T.pid), 0);
  assert.equal(await exitcodeOf(T.exitWith, [4]), 4);
  assert.ok(servers().every((pid) => pid !== first));
});
