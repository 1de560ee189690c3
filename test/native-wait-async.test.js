// Async futex waits served by the waiter thread(s), not libuv's thread pool.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { futexWake, mapSegment, pendingAsyncWaits, unlinkSegment, waitAsync } from '../dist/native/backend.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const NAME = `/bt-wait-${process.pid}`;
const WORDS = 1024;
const children = new Set();
let seg;
let v;

function child(code) {
  const src = `import * as b from ${JSON.stringify(BACKEND)};\n${code}`;
  const cp = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(cp);
  cp.output = '';
  cp.stdout.on('data', (d) => (cp.output += d));
  cp.exited = new Promise((resolve) => cp.once('exit', (code, signal) => resolve({ code, signal })));
  cp.exited.then(() => children.delete(cp));
  return cp;
}

/** Set word i to `value` and wake all its waiters (the usual futex protocol). */
function post(i, value = 1) {
  Atomics.store(v, i, value);
  futexWake(seg, i * 4, Infinity);
}

before(async () => {
  seg = mapSegment(NAME, WORDS * 4, { create: true });
  unlinkSegment(NAME);
  v = new Int32Array(seg.buffer);
  // Start the waiter thread outside of the timed parts.
  const warm = waitAsync(seg, 0, 0, 10000);
  post(0);
  assert.equal(await warm, 'ok');
});
after(async () => {
  for (const cp of children) {
    cp.kill('SIGKILL');
    await cp.exited;
  }
  seg.unmap();
});

test('100 pending waits leave the thread pool free; a wake settles each', async () => {
  const waits = [];
  for (let i = 0; i < 100; i++) waits.push(waitAsync(seg, (100 + i) * 4, 0));
  assert.equal(pendingAsyncWaits(), 100);
  for (let k = 0; k < 8; k++) {
    const t = performance.now();
    await Promise.all([1, 2, 3, 4, 5].map(() => readFile(fileURLToPath(import.meta.url))));
    const ms = performance.now() - t;
    assert.ok(ms < 250, `readFile took ${ms} ms with 100 waits pending (libuv's pool would stall it ≥ 500 ms)`);
  }
  for (let i = 0; i < 100; i++) post(100 + i);
  assert.deepEqual(await Promise.all(waits), Array(100).fill('ok'));
  assert.equal(pendingAsyncWaits(), 0);
});

test('several waits on one word all wake; not-equal is decided at call time', async () => {
  const waits = Array.from({ length: 10 }, () => waitAsync(seg, 4, 0, 10000));
  assert.equal(await waitAsync(seg, 4, 7), 'not-equal');
  post(1);
  assert.deepEqual(await Promise.all(waits), Array(10).fill('ok'));
  assert.equal(await waitAsync(seg, 4, 0, 10000), 'not-equal');
  assert.equal(await waitAsync(seg, 8, 0, 0), 'timeout');
});

// The precise lateness is a benchmark figure; here the bound only catches a timeout that is not
// honoured at all (a loaded 2-core machine can delay any timer by tens of ms).
test('timeouts settle as timeout, never early, and not far past their deadline', async (t) => {
  const start = performance.now();
  const late = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const ms = 10 + 5 * i;
      return waitAsync(seg, (300 + i) * 4, 0, ms).then((r) => {
        assert.equal(r, 'timeout');
        return performance.now() - start - ms;
      });
    }),
  );
  assert.ok(Math.min(...late) >= -1, `a wait timed out ${-Math.min(...late)} ms early`);
  t.diagnostic(`latest timeout: ${Math.max(...late).toFixed(2)} ms after its deadline`);
  assert.ok(Math.max(...late) < 250, `a wait timed out ${Math.max(...late)} ms late`);
  assert.equal(pendingAsyncWaits(), 0);
});

test('an AbortSignal cancels a wait cleanly', async () => {
  const ac = new AbortController();
  const cancelled = waitAsync(seg, 400 * 4, 0, 10000, { signal: ac.signal });
  const other = waitAsync(seg, 400 * 4, 0, 10000);
  ac.abort();
  await assert.rejects(cancelled, { name: 'AbortError' });
  assert.equal(pendingAsyncWaits(), 1);
  post(400);
  assert.equal(await other, 'ok');
  await assert.rejects(waitAsync(seg, 401 * 4, 0, -1, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  // A wait that settled first is unaffected by a later abort.
  const ac2 = new AbortController();
  const done = waitAsync(seg, 402 * 4, 0, 10000, { signal: ac2.signal });
  post(402);
  assert.equal(await done, 'ok');
  ac2.abort();
  assert.equal(pendingAsyncWaits(), 0);
});

test('more distinct words than one futex_waitv call takes (300)', async () => {
  const waits = [];
  for (let i = 0; i < 300; i++) waits.push(waitAsync(seg, (500 + i) * 4, 0, 20000));
  // Wake in reverse so that words of every waiter thread are involved.
  for (let i = 299; i >= 0; i--) post(500 + i);
  assert.deepEqual(await Promise.all(waits), Array(300).fill('ok'));
});

test('a process exits by itself once its waits are settled', async () => {
  const cp = child(`
    const s = b.mapSegment('/bt-exit-' + process.pid, 4096, { create: true });
    b.unlinkSegment(s.name);
    const v = new Int32Array(s.buffer);
    const w = b.waitAsync(s, 0, 0);
    const t = b.waitAsync(s, 4, 0, 20);
    setTimeout(() => { Atomics.store(v, 0, 1); b.futexWake(s, 0, 1); }, 10);
    console.log(await w, await t);
  `);
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
  assert.equal(cp.output, 'ok timeout\n');
});

test('process.exit() with waits pending does not hang', async () => {
  const cp = child(`
    const s = b.mapSegment('/bt-exit-' + process.pid, 4096, { create: true });
    b.unlinkSegment(s.name);
    b.waitAsync(s, 0, 0);
    b.waitAsync(s, 4, 0);
    setTimeout(() => process.exit(3), 50);
  `);
  assert.deepEqual(await cp.exited, { code: 3, signal: null });
});

test('worker threads using waitAsync can exit and be terminated', async () => {
  const code = `
    import * as b from ${JSON.stringify(BACKEND)};
    import { parentPort, workerData } from 'node:worker_threads';
    const s = b.mapSegment('/bt-thread-' + process.pid + '-' + workerData, 4096, { create: true });
    b.unlinkSegment(s.name);
    const t = await b.waitAsync(s, 4, 0, 10);
    b.waitAsync(s, 0, 0); // left pending
    parentPort.postMessage(t);
    if (workerData === 'natural') process.exit(0);
  `;
  for (const how of ['natural', 'terminate']) {
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: how });
    const [msg] = await new Promise((resolve, reject) => {
      w.once('message', (m) => resolve([m]));
      w.once('error', reject);
    });
    assert.equal(msg, 'timeout');
    if (how === 'terminate') await w.terminate();
    else await new Promise((resolve) => w.once('exit', resolve));
  }
});
