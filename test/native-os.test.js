// socketpair, pollFd, setParentDeathSignal, gettid, and the platform guard.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setImmediate as tick } from 'node:timers/promises';
import { gettid, pollFd, setParentDeathSignal, socketpair } from '../dist/native/backend.js';
import { OSError } from '../dist/errors.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const children = new Set();

/** A `node` child running ESM `code`, with the backend imported as `b` unless `raw`. */
function child(code, { raw = false } = {}) {
  const src = raw ? code : `import * as b from ${JSON.stringify(BACKEND)};\n${code}`;
  const cp = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
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

const pids = new Set(); // grandchildren to reap if a test fails
after(async () => {
  for (const cp of children) {
    cp.kill('SIGKILL');
    await cp.exited;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
});

test('socketpair gives a connected pair; pollFd reports readiness', () => {
  const [a, b] = socketpair();
  try {
    assert.ok(Number.isInteger(a) && Number.isInteger(b) && a !== b);
    assert.equal(pollFd(a, 'read', 0), false);
    assert.equal(pollFd(a, 'write', 0), true);
    writeSync(b, 'x');
    assert.equal(pollFd(a, 'read', 0), true);
    assert.equal(pollFd(a, 'read', -1), true);
    const buf = Buffer.alloc(4);
    assert.equal(readSync(a, buf), 1);
    assert.equal(buf.toString('latin1', 0, 1), 'x');
    const t = performance.now();
    assert.equal(pollFd(a, 'read', 30), false);
    const took = performance.now() - t;
    assert.ok(took >= 29 && took < 1000, `poll timed out after ${took} ms`);
    // Both ends are close-on-exec.
    for (const fd of [a, b]) {
      const flags = parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1], 8);
      assert.ok(flags & 0o2000000, `fd ${fd} lacks O_CLOEXEC`);
    }
  } finally {
    closeSync(b);
  }
  // A hung-up peer counts as ready, so a blocking reader wakes up.
  assert.equal(pollFd(a, 'read', -1), true);
  closeSync(a);
  assert.throws(() => pollFd(a, 'read', 0), (err) => err instanceof OSError && err.errno === 'EBADF');
});

test('pollFd retries on EINTR with the remaining time', async () => {
  const cp = child(`
    const [a] = b.socketpair();
    const got = new Promise((resolve) => process.on('SIGUSR2', resolve));
    console.log('polling');
    const t = performance.now();
    const r = b.pollFd(a, 'read', 300);
    console.log(r, Math.round(performance.now() - t));
    const keep = setTimeout(() => {}, 10000); // signal handles are unref'ed
    await got;
    clearTimeout(keep);
  `);
  assert.equal(await line(cp), 'polling');
  while (!/poll/.test(readFileSync(`/proc/${cp.pid}/wchan`, 'utf8'))) await tick();
  cp.kill('SIGUSR2');
  const [r, ms] = (await line(cp)).split(' ');
  assert.equal(r, 'false');
  assert.ok(Number(ms) >= 299, `returned after ${ms} ms`);
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
});

test('a child with a parent-death signal dies when its parent is SIGKILLed', async () => {
  // middle spawns leaf, which shares middle's stdout: the pipe ends only when both are gone.
  const leaf = `import * as b from ${JSON.stringify(BACKEND)};
    b.setParentDeathSignal('SIGTERM', Number(process.argv[1]));
    console.log('leaf', process.pid);
    setTimeout(() => console.log('leaf survived its parent'), 10000);`;
  const middle = child(`
    import { spawn } from 'node:child_process';
    spawn(process.execPath, ['--input-type=module', '-e', ${JSON.stringify(leaf)}, String(process.pid)], { stdio: ['ignore', 'inherit', 'inherit'] });
    setTimeout(() => {}, 30000);
  `);
  const [tag, pid] = (await line(middle)).split(' ');
  assert.equal(tag, 'leaf');
  pids.add(Number(pid));
  middle.kill('SIGKILL');
  assert.deepEqual(await middle.exited, { code: null, signal: 'SIGKILL' });
  const { done, value } = await middle.lines.next(); // EOF: the leaf is gone too
  assert.equal(done, true, value);
  // Gone, or a zombie not yet reaped by whoever adopted it.
  let state = 'gone';
  try {
    state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  } catch {}
  assert.match(state, /^(gone|Z|X)$/);
  pids.delete(Number(pid));
});

test('setParentDeathSignal raises the signal at once if the parent is already gone', async () => {
  const cp = child(`b.setParentDeathSignal(15, 1); setTimeout(() => {}, 30000);`);
  assert.deepEqual(await cp.exited, { code: null, signal: 'SIGTERM' });
});

test('gettid is the pid on the main thread', () => {
  assert.equal(gettid(), process.pid);
});

test('elsewhere than Linux x64/arm64, importing works and the first call says why not', async () => {
  const cp = child(`
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    const b = await import(${JSON.stringify(BACKEND)} + '?fresh');
    try { b.socketpair(); console.log('no error'); }
    catch (err) { console.log(err.name, err.errno, err.message); }
  `, { raw: true });
  const out = await line(cp);
  assert.match(out, /^OSError ENOSYS .*Linux on x64 and arm64 only, not darwin\/(x64|arm64)$/);
  assert.deepEqual(await cp.exited, { code: 0, signal: null });
});
