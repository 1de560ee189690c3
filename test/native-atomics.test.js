// Self-test: JS Atomics on mmap'd shared memory are atomic across processes.
// This is V8 behaviour (lock-prefixed / LL-SC instructions on the raw memory),
// not something the ECMAScript spec promises for non-SharedArrayBuffers; the
// locks' fast paths depend on it, so it must keep holding.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mapSegment, unlinkSegment } from '../dist/native/backend.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const N = 5_000_000;
const children = new Set();

function child(code, args) {
  const src = `import * as b from ${JSON.stringify(BACKEND)};\n${code}`;
  const cp = spawn(process.execPath, ['--input-type=module', '-e', src, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(cp);
  cp.exited = new Promise((resolve) => cp.once('exit', (code, signal) => resolve({ code, signal })));
  cp.exited.then(() => children.delete(cp));
  cp.lines = createInterface({ input: cp.stdout })[Symbol.asyncIterator]();
  return cp;
}

after(async () => {
  for (const cp of children) {
    cp.kill('SIGKILL');
    await cp.exited;
  }
});

// Word 0: start flag; word 1: the counter.
const WORKER = `
const s = b.mapSegment(process.argv[1], 0, { create: false });
const v = new Int32Array(s.buffer);
const n = Number(process.argv[2]);
console.log('ready');
while (Atomics.load(v, 0) === 0);   // start together to maximise overlap
if (process.argv[3] === 'add') {
  for (let i = 0; i < n; i++) Atomics.add(v, 1, 1);
} else {
  for (let i = 0; i < n; i++) {
    for (;;) {
      const old = Atomics.load(v, 1);
      if (Atomics.compareExchange(v, 1, old, old + 1) === old) break;
    }
  }
}
console.log('done');
`;

async function race(kind) {
  const name = `/bt-atomics-${process.pid}-${kind}`;
  const seg = mapSegment(name, 4096, { create: true });
  try {
    const v = new Int32Array(seg.buffer);
    const cps = [child(WORKER, [name, String(N), kind]), child(WORKER, [name, String(N), kind])];
    for (const cp of cps) assert.equal((await cp.lines.next()).value, 'ready');
    Atomics.store(v, 0, 1);
    for (const cp of cps) assert.deepEqual(await cp.exited, { code: 0, signal: null });
    return Atomics.load(v, 1);
  } finally {
    seg.unmap();
    unlinkSegment(name);
  }
}

test('2 processes x 5M Atomics.add on one shared int32 give the exact total', async () => {
  assert.equal(await race('add'), 2 * N);
});

test('2 processes x 5M compareExchange increments give the exact total', async () => {
  assert.equal(await race('cas'), 2 * N);
});
