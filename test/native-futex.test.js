// Blocking futex wait/wake across processes; timeouts; EINTR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setImmediate as tick } from 'node:timers/promises';
import { futexWait, futexWake, mapSegment, unlinkSegment, waitAsync } from '../dist/native/backend.js';
import { ValueError } from '../dist/errors.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const NAME = `/bt-futex-${process.pid}`;
const children = new Set();
let seg;
let v;

function child(code, args = []) {
  const src = `import * as b from ${JSON.stringify(BACKEND)};\n${code}`;
  const cp = spawn(process.execPath, ['--input-type=module', '-e', src, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(cp);
  cp.exited = new Promise((resolve) => cp.once('exit', (code, signal) => resolve({ code, signal })));
  cp.exited.then(() => children.delete(cp));
  cp.lines = createInterface({ input: cp.stdout })[Symbol.asyncIterator]();
  return cp;
}
async function line(cp) {
  const { value, done } = await cp.lines.next();
  assert.ok(!done, 'child ended early');
  return value;
}

/** Resolves once the child's main thread sleeps in a kernel function matching `re`. */
async function blockedIn(pid, re) {
  while (!re.test(readFileSync(`/proc/${pid}/wchan`, 'utf8'))) await tick();
}

/** Wake word `index` until the kernel reports a woken waiter (the child is blocked). */
async function wakeOne(index) {
  while (futexWake(seg, index * 4, 1) === 0) await tick();
}

before(() => {
  seg = mapSegment(NAME, 4096, { create: true });
  v = new Int32Array(seg.buffer);
});
after(async () => {
  for (const cp of children) {
    cp.kill('SIGKILL');
    await cp.exited;
  }
  seg.unmap();
  unlinkSegment(NAME);
});

const ATTACH = `const s = b.mapSegment(process.argv[1], 0, { create: false }); const v = new Int32Array(s.buffer);`;

test('a child blocked in futexWait is woken by the parent', async () => {
  const cp = child(`${ATTACH} console.log(b.futexWait(s, 0, 0, 10000));`, [NAME]);
  await wakeOne(0);
  assert.equal(await line(cp), 'ok');
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
});

test('the parent waits asynchronously; the child changes the word and wakes it', async () => {
  v[1] = 0;
  const cp = child(`${ATTACH} process.stdin.once('data', () => { Atomics.store(v, 1, 1); console.log(b.futexWake(s, 4, 1)); });`, [NAME]);
  const waiting = waitAsync(seg, 4, 0, 10000);
  // The wait is registered synchronously; the thread may still be starting,
  // in which case it sees the changed word instead of a wake: 'ok' either way.
  cp.stdin.end('go\n');
  assert.equal(await waiting, 'ok');
  assert.match(await line(cp), /^[01]$/);
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
});

test('timeout returns promptly, not-equal at once', () => {
  v[2] = 0;
  let t = performance.now();
  assert.equal(futexWait(seg, 8, 0, 50), 'timeout');
  const took = performance.now() - t;
  assert.ok(took >= 49 && took < 1000, `took ${took} ms`);
  t = performance.now();
  assert.equal(futexWait(seg, 8, 1, 5000), 'not-equal');
  assert.equal(futexWait(seg, 8, 0, 0), 'timeout');
  assert.ok(performance.now() - t < 5);
  assert.equal(futexWake(seg, 8, Infinity), 0);
});

test('a signal during futexWait does not cut the timeout short (EINTR is retried)', async () => {
  const cp = child(
    `${ATTACH}
     const got = new Promise((resolve) => process.on('SIGUSR2', resolve));
     console.log('waiting');
     const t = performance.now();
     const r = b.futexWait(s, 12, 0, 300);
     console.log(r, Math.round(performance.now() - t));
     const keep = setTimeout(() => {}, 10000); // signal handles are unref'ed
     await got;
     clearTimeout(keep);
     console.log('signal handled');`,
    [NAME],
  );
  assert.equal(await line(cp), 'waiting');
  await blockedIn(cp.pid, /futex/); // so that the signal interrupts the syscall
  cp.kill('SIGUSR2');
  const [result, ms] = (await line(cp)).split(' ');
  assert.equal(result, 'timeout');
  assert.ok(Number(ms) >= 299, `returned after ${ms} ms`);
  assert.equal(await line(cp), 'signal handled');
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
});

test('offsets are checked against alignment and the segment', () => {
  assert.throws(() => futexWait(seg, 2, 0, 0), ValueError);
  assert.throws(() => futexWake(seg, 4096, 1), ValueError);
  assert.throws(() => futexWake(seg, -4, 1), ValueError);
});
