// SyncManager.Pool(): a Pool living in the manager's process, used through a
// PoolProxy (task functions named with describeTask and rebuilt there), its
// AsyncResult and imap iterator proxies, worker errors with their class, the
// proxy in a child Process, lifecycle, and no process left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Manager, Pipe, Process, Terminated, TimeoutError, ValueError } from 'billiard';
import { fixture, goneWithin, pidAlive, startScript } from './fixtures/helpers.js';
import {
  PoolTaskError, add, fail, getTag, pid, setTag, sleepy, square, squareUnless, usePool,
} from './fixtures/mgr-pool-tasks.js';

const modules = [new URL('./fixtures/mgr-pool-tasks.js', import.meta.url).href];

let m;
let pool;
before(async () => {
  m = await Manager({ modules });
  pool = await m.Pool(2);
});
after(async () => {
  const pids = [m.process.pid, ...(await pool.workerPids())];
  await m.shutdown();
  for (const p of pids) assert.equal(await goneWithin(p, 5000), true, `process ${p} outlived shutdown()`);
});

describe('the pool proxy', () => {
  test('map, apply, starmap, by reference and by source; the workers are the server\'s children', async () => {
    assert.equal(pool.constructor.name, 'PoolProxy');
    assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5]), [1, 4, 9, 16, 25]);
    assert.deepEqual(await pool.map(square, new Set([6, 7]), 1), [36, 49]);
    assert.equal(await pool.apply(add, [40, 2]), 42);
    assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
    // A self-contained function travels by source.
    assert.deepEqual(await pool.map((x) => x * 10, [1, 2]), [10, 20]);
    assert.equal(await pool.processes, 2);
    const workers = await pool.workerPids();
    assert.equal(workers.length, 2);
    const ran = new Set(await pool.map(pid, [1, 2, 3, 4, 5, 6], 1));
    for (const p of ran) assert.ok(workers.includes(p), `task ran in ${p}, not a pool worker`);
    for (const p of workers) {
      assert.notEqual(p, process.pid);
      assert.match(readPpid(p), new RegExp(`^${m.process.pid}$`), 'pool workers are children of the manager process');
    }
  });

  test('applyAsync / mapAsync / starmapAsync: AsyncResult proxies; callbacks run here', async () => {
    const r = await pool.applyAsync(sleepy, [150, 'slow']);
    assert.equal(r.constructor.name, 'AsyncResultProxy');
    assert.equal(await r.ready(), false);
    await assert.rejects(r.successful(), ValueError);
    await assert.rejects(r.get({ timeout: 10 }), TimeoutError);
    assert.equal(await r.wait({ timeout: 5 }), false);
    assert.equal(await r.get(), 'slow');
    assert.equal(await r.ready(), true);
    assert.equal(await r.successful(), true);
    assert.equal(await r.wait(), true);
    assert.equal((await r.workerPids()).length, 1);

    let seen;
    const done = new Promise((resolve) => { seen = resolve; });
    const mr = await pool.mapAsync(square, [1, 2, 3], { callback: (v) => seen(v) });
    assert.deepEqual(await mr.get(), [1, 4, 9]);
    assert.deepEqual(await done, [1, 4, 9]);
    const sr = await pool.starmapAsync(add, [[1, 1], [2, 2]], { chunksize: 1 });
    assert.deepEqual(await sr.get(), [2, 4]);

    let failed;
    const errored = new Promise((resolve) => { failed = resolve; });
    const fr = await pool.applyAsync(fail, ['async boom'], { errorCallback: (e) => failed(e) });
    await assert.rejects(fr.get(), (e) => e instanceof PoolTaskError && e.message === 'async boom');
    assert.equal(await fr.successful(), false);
    assert.ok((await errored) instanceof PoolTaskError);
    await assert.rejects(pool.applyAsync(add, [1, 2], { acceptCallback: () => {} }), { name: 'TypeError' });
  });

  test('an AbortSignal aborts the job in the manager\'s pool', async () => {
    const ac = new AbortController();
    const r = pool.apply(sleepy, [10_000], { signal: ac.signal });
    setTimeout(() => ac.abort(new Terminated('stop it')), 100);
    await assert.rejects(r, (e) => e instanceof Terminated && e.message === 'stop it');
  });

  test('imap / imapUnordered: async iterators, errors in place, early break', async () => {
    const ordered = [];
    for await (const x of await pool.imap(square, [1, 2, 3, 4, 5])) ordered.push(x);
    assert.deepEqual(ordered, [1, 4, 9, 16, 25]);
    const unordered = [];
    for await (const x of await pool.imapUnordered(sleepy, [400, 10, 60], 1)) unordered.push(x);
    assert.deepEqual([...unordered].sort((a, b) => a - b), [10, 60, 400]);
    assert.notEqual(unordered[0], 400, 'completion order');

    const it = await pool.imap(squareUnless, [1, 2, 3, 4]);
    assert.deepEqual(await it.next(), { value: 1, done: false });
    assert.deepEqual(await it.next(), { value: 4, done: false });
    await assert.rejects(it.next(), (e) => e instanceof PoolTaskError && e.message === 'bad 3');
    assert.deepEqual(await it.next(), { value: 16, done: false });
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    assert.deepEqual(await it.next(), { value: undefined, done: true });

    const slow = await pool.imap(sleepy, [300]);
    await assert.rejects(slow.next(20), TimeoutError);
    for await (const x of slow) {
      assert.equal(x, 300);
      break;
    }
  });

  test('worker errors re-raise with their class (map, apply), with the remote stack as cause', async () => {
    await assert.rejects(pool.apply(fail, ['boom']), (e) => {
      assert.ok(e instanceof PoolTaskError);
      assert.equal(e.message, 'boom');
      assert.match(String(e.cause), /RemoteTraceback[\s\S]*boom/);
      return true;
    });
    await assert.rejects(pool.map(squareUnless, [1, 2, 3, 4], 1), (e) => e instanceof PoolTaskError && e.message === 'bad 3');
    // Not a function, or one that cannot be named: rejected before anything is sent.
    await assert.rejects(pool.map(42, [1]), { name: 'TaskSerializationError' });
  });

  test('an initializer travels like a task', async () => {
    const p = await m.Pool({ processes: 1, initializer: setTag, initargs: ['tagged'] });
    try {
      assert.equal(await p.apply(getTag), 'tagged');
    } finally {
      await p.terminate();
    }
    assert.throws(() => m.Pool({ onProcessUp: () => {} }), { name: 'TypeError', message: /onProcessUp cannot be given/ });
  });

  test('a pool proxy passed to a child Process works there', async () => {
    const [reader, writer] = Pipe(false);
    const child = new Process({ target: usePool, args: [writer, pool], modules });
    child.start();
    writer.close();
    const report = await reader.recv();
    await child.join();
    assert.equal(child.exitcode, 0);
    assert.deepEqual(report, { squares: [1, 4, 9, 16], sum: 42, error: { isClass: true, message: 'from child' } });
  });
});

describe('lifecycle', () => {
  test('close + join: submitted work finishes, the workers exit; then "Pool not running"', async () => {
    const p = await m.Pool(2);
    const workers = await p.workerPids();
    await assert.rejects(p.join(), { message: 'Pool is still running' });
    const r = await p.applyAsync(sleepy, [100, 'finished']);
    await p.close();
    await p.join();
    assert.equal(await r.get(), 'finished');
    for (const w of workers) assert.equal(await goneWithin(w, 3000), true, `worker ${w} still alive after join()`);
    await assert.rejects(p.apply(add, [1, 2]), (e) => e instanceof ValueError && e.message === 'Pool not running');
  });

  test('terminate settles pending jobs with Terminated and kills the workers; Symbol.asyncDispose terminates', async () => {
    const p = await m.Pool(1);
    const workers = await p.workerPids();
    const r = await p.applyAsync(sleepy, [10_000]);
    const mapped = assert.rejects(p.map(sleepy, [10_000, 10_000]), Terminated);
    await new Promise((res) => setTimeout(res, 50));
    await p.terminate();
    await assert.rejects(r.get(), Terminated);
    await mapped;
    for (const w of workers) assert.equal(await goneWithin(w, 3000), true);

    // `await using q = await m.Pool(1)` (Node 20's syntax lacks it: the disposal by hand).
    const q = await m.Pool(1);
    const disposedWorkers = await q.workerPids();
    assert.equal(await q.apply(add, [2, 3]), 5);
    await q[Symbol.asyncDispose]();
    for (const w of disposedWorkers) assert.equal(await goneWithin(w, 3000), true, 'Symbol.asyncDispose terminates');
    await assert.rejects(q.apply(add, [1, 2]), { message: 'Pool not running' });
  });

  test('releasing the last proxy closes the pool: its workers exit', async () => {
    const p = await m.Pool(1);
    const workers = await p.workerPids();
    p.release();
    for (const w of workers) assert.equal(await goneWithin(w, 5000), true, `worker ${w} outlived its pool's last proxy`);
  });

  test('shutdown() leaves no process: the manager and its pool workers; nor a segment of the manager', async () => {
    const mm = await Manager({ modules });
    const p = await mm.Pool(2);
    const r = await p.applyAsync(sleepy, [10_000]);
    void r;
    const pids = [mm.process.pid, ...(await p.workerPids())];
    assert.equal(pids.length, 3);
    // The pool's shared state lives in segments of the manager's process (bl<root>_<pid>_…).
    const mine = () => readdirSync('/dev/shm').filter((n) => n.split('_')[1] === String(mm.process.pid));
    assert.ok(mine().length > 0);
    await mm.shutdown();
    for (const q of pids) assert.equal(await goneWithin(q, 5000), true, `process ${q} outlived shutdown()`);
    // Unlinked by the manager itself, not left for the tree's reaper (which runs when the tree ends).
    assert.deepEqual(mine(), []);
  });

  test('the owner SIGKILLed (or exiting without shutdown) leaves no process', async () => {
    for (const mode of ['kill', 'exit']) {
      const owner = startScript(fixture('mgr-pool-owner.js'), [mode]);
      try {
        const [, manager, workers] = await owner.waitFor(/manager (\d+) workers ([\d,]+)/);
        const pids = [Number(manager), ...workers.split(',').map(Number)];
        assert.equal(pids.length, 3);
        if (mode === 'kill') owner.kill('SIGKILL');
        await owner.exited;
        for (const q of pids) assert.equal(await goneWithin(q, 10_000), true, `process ${q} outlived its owner (${mode})`);
      } finally {
        owner.kill('SIGKILL');
      }
    }
  });
});

test('the PoolProxy facade type-checks against the library Pool\'s signatures', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const args = [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--lib', 'ES2023,ESNext.Disposable', '--module', 'NodeNext',
    '--moduleResolution', 'NodeNext', '--skipLibCheck', '--types', 'node', 'test/fixtures/mgr-pool-typecheck.ts'];
  const result = await new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
  });
  assert.equal(result.err, null, `tsc failed:\n${result.stdout}${result.stderr}`);
});

function readPpid(p) {
  assert.ok(pidAlive(p), `process ${p} is not alive`);
  // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces.
  const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
}
