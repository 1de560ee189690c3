// SharedMemory and ShareableList (CPython's semantics and errors), and the
// resource tracker: nothing is left in /dev/shm when a tree ends, even killed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import {
  FileExistsError, FileNotFoundError, IndexError, KeyError, OSError, ShareableList, SharedMemory, TypeError, ValueError,
} from 'billiard';
import { assertNoLeaks, child, reapAll } from './fixtures/sync-helpers.js';
import { fixture, runScript } from './fixtures/helpers.js';

const created = [];
const track = (shm) => (created.push(shm.name), shm);

after(async () => {
  await reapAll();
  await assertNoLeaks(created);
});

test('SharedMemory: argument errors as CPython', () => {
  assert.throws(() => new SharedMemory({ create: true, size: -1 }), (e) => e instanceof ValueError && e.message === "'size' must be a positive integer");
  assert.throws(() => new SharedMemory({ create: true, size: 0 }), (e) => e instanceof ValueError && e.message === "'size' must be a positive number different from zero");
  assert.throws(() => new SharedMemory(), (e) => e instanceof ValueError && e.message === "'name' can only be None if create=True");
  assert.throws(() => new SharedMemory({ name: 'a\0b' }), (e) => e instanceof ValueError && e.message === 'embedded null character');
  assert.throws(() => new SharedMemory({ name: `psm_missing_${process.pid}` }), (e) => e instanceof FileNotFoundError && e instanceof OSError && e.errno === 'ENOENT');
  // Larger than an ArrayBuffer can be: refused before anything is created (it used to abort the process).
  const before = new Set(readdirSync('/dev/shm'));
  assert.throws(() => new SharedMemory({ create: true, size: 2 ** 45 }), (e) => e instanceof ValueError && /at most/.test(e.message));
  assert.deepEqual(readdirSync('/dev/shm').filter((n) => !before.has(n) && n.startsWith('psm_')), []);
  assert.throws(() => new SharedMemory({ name: 5 }), TypeError);
  assert.throws(() => new ShareableList(5), TypeError);
});

test('SharedMemory: create, attach by name, size, buf, close, unlink, repr', () => {
  const a = track(new SharedMemory({ create: true, size: 10 }));
  assert.match(a.name, /^psm_[0-9a-f]{8}$/);
  assert.equal(a.size, 10);
  assert.equal(String(a), `SharedMemory('${a.name}', size=10)`);
  assert.ok(existsSync(`/dev/shm/${a.name}`));
  assert.throws(() => new SharedMemory({ name: a.name, create: true, size: 10 }), (e) => e instanceof FileExistsError && e.errno === 'EEXIST');
  const b = new SharedMemory({ name: a.name, size: 5000 });
  assert.equal(b.size, 10, 'attach ignores size');
  a.buf.write('hello');
  assert.equal(b.buf.subarray(0, 5).toString(), 'hello');
  b.close();
  b.close();
  assert.throws(() => b.buf, ValueError);
  a.unlink();
  assert.ok(!existsSync(`/dev/shm/${a.name}`));
  assert.throws(() => a.unlink(), FileNotFoundError);
  assert.throws(() => new SharedMemory({ name: a.name }), FileNotFoundError);
  assert.equal(a.buf.subarray(0, 5).toString(), 'hello', 'the mapping outlives the name');
  a.close();
  const named = track(new SharedMemory({ name: `bt_named_${process.pid}`, create: true, size: 64 }));
  assert.equal(named.name, `bt_named_${process.pid}`);
  named.unlink();
  named.close();
});

test('SharedMemory: passed to a child, and attached by name in a child', async () => {
  const shm = track(new SharedMemory({ create: true, size: 64 }));
  const p = child('writeShm', [shm, 'from child']);
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.equal(shm.buf.subarray(0, 10).toString(), 'from child');
  const q = child('attachWrite', [shm.name, 'by name!!!']);
  await q.join();
  assert.equal(q.exitcode, 0);
  assert.equal(shm.buf.subarray(0, 10).toString(), 'by name!!!');
  shm.close();
  shm.unlink();
});

test('ShareableList: CPython layout, items, errors, count/index', () => {
  const sl = new ShareableList(['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42]);
  track(sl.shm);
  assert.equal(sl.format, '8s8sdqxxxxxx?xxxxxxxx?q');
  assert.equal(sl.length, 7);
  assert.deepEqual(sl.toArray(), ['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42]);
  assert.equal(sl.get(-1), 42);
  sl.set(0, 'hi');
  assert.equal(sl.get(0), 'hi');
  assert.throws(() => sl.set(0, 'x'.repeat(9)), (e) => e instanceof ValueError && e.message === 'bytes/str item exceeds available storage');
  sl.set(3, 1.5);
  assert.equal(sl.get(3), 1.5);
  assert.throws(() => sl.get(7), (e) => e instanceof IndexError && e.message === 'index out of range');
  assert.throws(() => sl.set(-8, 1), (e) => e instanceof IndexError && e.message === 'assignment index out of range');
  assert.throws(() => new ShareableList([{}]), (e) => e instanceof KeyError && e.message === "<class 'Object'>");
  assert.equal(sl.count(42), 1);
  assert.equal(sl.index(true), 5);
  assert.throws(() => sl.index('nope'), (e) => e instanceof ValueError && e.message === "'nope' not in this container");
  assert.equal(sl.append, undefined);
  const again = new ShareableList(null, { name: sl.shm.name });
  assert.deepEqual(again.toArray(), sl.toArray());
  again.shm.close();
  sl.shm.close();
  sl.shm.unlink();
});

test('ShareableList: a Python process reads our layout', { skip: !existsSync('/usr/bin/python3') }, () => {
  const sl = new ShareableList(['py', 3, 2.5, true, null]);
  track(sl.shm);
  const out = execFileSync('/usr/bin/python3', ['-c', `
import sys
from multiprocessing import shared_memory, resource_tracker
sl = shared_memory.ShareableList(name=sys.argv[1])
resource_tracker.unregister(sl.shm._name, 'shared_memory')
print(list(sl), sl.format)
sl[1] = 99
sl.shm.close()`, sl.shm.name], { encoding: 'utf8' });
  assert.equal(out.trim(), "['py', 3, 2.5, True, None] 8sqd" + 'xxxxxxx?' + 'xxxxxx?x');
  assert.equal(sl.get(1), 99);
  sl.shm.close();
  sl.shm.unlink();
});

test('ShareableList: passed to a child', async () => {
  const sl = new ShareableList(['orig', 'x', 21]);
  track(sl.shm);
  const p = child('editList', [sl]);
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.deepEqual(sl.toArray(), ['changed', 'x', 42]);
  sl.shm.close();
  sl.shm.unlink();
});

for (const mode of ['exit', 'kill']) {
  test(`resource tracker: a tree whose child was SIGKILLed and whose root ${mode === 'kill' ? 'was SIGKILLed' : 'exited'} leaves nothing in /dev/shm`, async () => {
    const env = { BILLIARD_TREE: '' };
    const r = await runScript(fixture('sync-tree.js'), [mode], { env, timeout: 30_000 });
    const m = /TREE (.*)/.exec(r.stdout);
    assert.ok(m, `no report; stderr: ${r.stderr}`);
    const { root, names } = JSON.parse(m[1]);
    assert.equal(names.length, 2);
    const deadline = Date.now() + 5000;
    let left;
    do {
      await new Promise((res) => setTimeout(res, 50));
      left = readdirSync('/dev/shm').filter((n) => n.startsWith(`bl${root}_`) || names.includes(n));
    } while (left.length > 0 && Date.now() < deadline);
    assert.deepEqual(left, []);
  });
}
