// Shared memory segments: two processes, zero fill, errors, unlink, unmap safety.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { mapSegment, unlinkSegment } from '../dist/native/backend.js';
import { OSError, ValueError } from '../dist/errors.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const PREFIX = `bt-shm-${process.pid}-`;
let serial = 0;
const uniqueName = () => `/${PREFIX}${serial++}`;
const children = new Set();

/** A `node` child running ESM `code` with the backend imported as `b`. */
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

after(async () => {
  for (const cp of children) {
    cp.kill('SIGKILL');
    await cp.exited;
  }
  const left = readdirSync('/dev/shm').filter((n) => n.startsWith(PREFIX));
  for (const n of left) unlinkSegment(n);
  assert.deepEqual(left, [], 'segments left in /dev/shm');
});

describe('mapSegment', () => {
  test('two processes see each other\'s writes; attach discovers the size', async () => {
    const name = uniqueName();
    const seg = mapSegment(name, 8192, { create: true });
    try {
      const mine = new Int32Array(seg.buffer);
      mine[0] = 1234;
      const cp = child(
        `const s = b.mapSegment(process.argv[1], 0, { create: false });
         const v = new Int32Array(s.buffer);
         console.log(s.size, v[0]);
         v[1] = 5678;
         s.unmap();`,
        [name],
      );
      assert.equal(await line(cp), '8192 1234');
      assert.deepEqual(await cp.exited, { code: 0, signal: null });
      assert.equal(mine[1], 5678);
    } finally {
      seg.unmap();
      unlinkSegment(name);
    }
  });

  test('creating zero-fills; the name gets a leading slash', () => {
    const name = uniqueName();
    const seg = mapSegment(name.slice(1), 1 << 20, { create: true });
    try {
      assert.equal(seg.name, name);
      assert.equal(seg.size, 1 << 20);
      assert.equal(typeof seg.address, 'bigint');
      assert.ok(new Uint8Array(seg.buffer).every((x) => x === 0));
      assert.ok(readdirSync('/dev/shm').includes(name.slice(1)));
    } finally {
      seg.unmap();
      unlinkSegment(name);
    }
  });

  test('EEXIST and ENOENT read like Python', () => {
    const name = uniqueName();
    const seg = mapSegment(name, 4096, { create: true });
    try {
      assert.throws(() => mapSegment(name, 4096, { create: true }), (err) => {
        assert.ok(err instanceof OSError);
        assert.equal(err.errno, 'EEXIST');
        assert.equal(err.message, `[Errno 17] File exists: '${name}'`);
        return true;
      });
      // Non-exclusive create attaches and keeps the contents.
      new Uint8Array(seg.buffer)[10] = 7;
      const again = mapSegment(name, 4096, { create: true, exclusive: false });
      assert.equal(new Uint8Array(again.buffer)[10], 7);
      again.unmap();
    } finally {
      seg.unmap();
      unlinkSegment(name);
    }
    assert.throws(() => mapSegment(name, 0, { create: false }), (err) => {
      assert.ok(err instanceof OSError);
      assert.equal(err.errno, 'ENOENT');
      assert.equal(err.message, `[Errno 2] No such file or directory: '${name}'`);
      return true;
    });
    assert.throws(() => unlinkSegment(name), { errno: 'ENOENT' });
  });

  test('bad sizes and names are ValueErrors, and leave nothing behind', () => {
    const name = uniqueName();
    assert.throws(() => mapSegment(name, 0, { create: true }), ValueError);
    assert.throws(() => mapSegment('/a/b', 10, { create: true }), ValueError);
    assert.throws(() => mapSegment(name, -1, { create: true }), ValueError);
    const seg = mapSegment(name, 4096, { create: true });
    try {
      // Mapping past the end of the object would SIGBUS on access.
      assert.throws(() => mapSegment(name, 8192, { create: false }), ValueError);
      const part = mapSegment(name, 100, { create: false });
      assert.equal(part.size, 100);
      part.unmap();
    } finally {
      seg.unmap();
      unlinkSegment(name);
    }
  });

  test('unlink keeps existing mappings; a new attach fails', () => {
    const name = uniqueName();
    const a = mapSegment(name, 4096, { create: true });
    const b = mapSegment(name, 0, { create: false });
    unlinkSegment(name);
    new Int32Array(a.buffer)[0] = 42;
    assert.equal(new Int32Array(b.buffer)[0], 42);
    assert.throws(() => mapSegment(name, 0, { create: false }), { errno: 'ENOENT' });
    a.unmap();
    b.unmap();
  });

  test('unmap is idempotent and a stale view can neither crash nor reach the segment', () => {
    const name = uniqueName();
    const a = mapSegment(name, 4096, { create: true });
    const b = mapSegment(name, 0, { create: false });
    try {
      const stale = new Int32Array(a.buffer);
      stale[0] = 99;
      a.unmap();
      a.unmap();
      assert.equal(a.closed, true);
      assert.throws(() => a.buffer, ValueError);
      assert.equal(stale[0], 0); // private zero page now
      stale[0] = 5;
      assert.equal(new Int32Array(b.buffer)[0], 99);
    } finally {
      b.unmap();
      unlinkSegment(name);
    }
  });
});
