// Listener / Client / wait (billiard/connection): TCP and Unix addresses, the
// authkey handshake (both ways, empty key, no key), hostile peers that send
// garbage, an oversized length or nothing (bounded, while others are served),
// and wait() over connections, sentinels and listeners.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { AuthenticationError, EOFError, OSError, Process, TimeoutError } from 'billiard';
import { Client, Listener, wait } from 'billiard/connection';
import { reap } from './fixtures/helpers.js';
import { connectAndSend, echo } from './fixtures/mgr-conn-tasks.js';

const modules = [new URL('./fixtures/mgr-conn-tasks.js', import.meta.url).href];
const KEY = Buffer.from('the key');

const listeners = [];
/** Close every listener a test made, whatever happened. */
function track(l) {
  listeners.push(l);
  return l;
}
afterEach(() => {
  for (const l of listeners.splice(0)) l.close();
});

/** Connect a Client and accept it; resolves [client end, server end]. */
async function pair(listener, opts = {}) {
  const [c, s] = await Promise.all([Client(listener.address, opts), listener.accept()]);
  return [c, s];
}

/** A raw TCP/Unix socket to the listener (no framing, no handshake). */
function rawSocket(address) {
  return new Promise((resolve, reject) => {
    const s = typeof address === 'string' ? net.connect(address) : net.connect(address[1], address[0]);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('addresses', () => {
  test('TCP [host, port] with port 0: the address names the bound port at once', async () => {
    const l = track(new Listener(['127.0.0.1', 0]));
    assert.equal(l.address[0], '127.0.0.1');
    assert.ok(l.address[1] > 0);
    const [c, s] = await pair(l);
    c.send({ hello: [1, 2n] });
    assert.deepEqual(await s.recv(), { hello: [1, 2n] });
    s.sendBytes(Buffer.from('back'));
    assert.equal(String(await c.recvBytes()), 'back');
    assert.deepEqual(l.lastAccepted[0], '127.0.0.1');
    c.close(); s.close();
  });

  test("'host:port' string stays a string; the default host is 127.0.0.1", async () => {
    const probe = new Listener(['127.0.0.1', 0]);
    const port = probe.address[1];
    probe.close();
    const l = track(new Listener(`:${port}`));
    assert.equal(l.address, `127.0.0.1:${port}`);
    const [c, s] = await pair(l);
    c.send('x');
    assert.equal(await s.recv(), 'x');
    c.close(); s.close();
  });

  test('default family is a Unix socket in a pymp- directory; the file goes away on close', async () => {
    const l = new Listener();
    assert.match(l.address, /pymp-.*\/listener-/);
    await l.listening();
    assert.ok(fs.existsSync(l.address));
    const [c, s] = await pair(l);
    s.send(42);
    assert.equal(await c.recv(), 42);
    c.close(); s.close();
    l.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(fs.existsSync(l.address), false);
  });

  test("abstract Unix socket '\\0name'", async () => {
    const name = `\0billiard-test-${process.pid}`;
    const l = track(new Listener(name, { authkey: KEY }));
    const [c, s] = await pair(l, { authkey: KEY });
    c.send('abstract');
    assert.equal(await s.recv(), 'abstract');
    c.close(); s.close();
  });

  test('address in use: OSError EADDRINUSE, thrown by the constructor', () => {
    const l = track(new Listener(['127.0.0.1', 0]));
    assert.throws(() => new Listener(l.address), (e) => e instanceof OSError && e.errno === 'EADDRINUSE');
    const u = track(new Listener());
    assert.throws(() => new Listener(u.address), (e) => e instanceof OSError && e.errno === 'EADDRINUSE');
  });

  test('nothing listening: Client rejects with OSError (ECONNREFUSED / ENOENT)', async () => {
    const probe = new Listener(['127.0.0.1', 0]);
    const addr = probe.address;
    probe.close();
    await assert.rejects(Client(addr), (e) => e instanceof OSError && e.errno === 'ECONNREFUSED');
    await assert.rejects(Client('/nonexistent/billiard.sock'), (e) => e instanceof OSError && e.errno === 'ENOENT');
  });

  test('bad arguments: family, authkey type', () => {
    assert.throws(() => new Listener(null, { family: 'AF_PIPE' }), { message: 'Family AF_PIPE is not recognized.' });
    assert.throws(() => new Listener(null, { authkey: 'text' }), { message: 'authkey should be a byte string' });
  });

  test('accept() after close, and a pending accept() when closing: OSError("listener is closed")', async () => {
    const l = new Listener(['127.0.0.1', 0]);
    const pending = l.accept();
    l.close();
    await assert.rejects(pending, { message: 'listener is closed' });
    await assert.rejects(l.accept(), (e) => e instanceof OSError && e.message === 'listener is closed');
  });
});

describe('authentication', () => {
  test('same key: connected both ways', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY }));
    const [c, s] = await pair(l, { authkey: KEY });
    c.send('ok');
    assert.equal(await s.recv(), 'ok');
    c.close(); s.close();
  });

  test("wrong key: server 'digest received was wrong', client 'digest sent was rejected'", async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY }));
    const [client, server] = await Promise.allSettled([Client(l.address, { authkey: Buffer.from('other') }), l.accept()]);
    assert.ok(client.reason instanceof AuthenticationError);
    assert.equal(client.reason.message, 'digest sent was rejected');
    assert.ok(server.reason instanceof AuthenticationError);
    assert.equal(server.reason.message, 'digest received was wrong');
    // The listener goes on serving.
    const [c, s] = await pair(l, { authkey: KEY });
    c.close(); s.close();
  });

  test('a wrong key in a child process is rejected too', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY }));
    const p = new Process({ target: connectAndSend, args: [l.address, Buffer.from('bad'), 1], modules });
    try {
      p.start();
      await assert.rejects(l.accept(), { message: 'digest received was wrong' });
      await p.join(20_000);
      assert.equal(p.exitcode, 1);
    } finally {
      await reap(p);
    }
  });

  test('an empty authkey still authenticates', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: Buffer.alloc(0) }));
    const [c, s] = await pair(l, { authkey: Buffer.alloc(0) });
    c.send(1);
    assert.equal(await s.recv(), 1);
    c.close(); s.close();
    const [bad, refused] = await Promise.allSettled([Client(l.address, { authkey: Buffer.from('x') }), l.accept()]);
    assert.equal(bad.reason?.message, 'digest sent was rejected');
    assert.equal(refused.reason?.message, 'digest received was wrong');
  });

  test('a client without key to an authenticating listener: its first message fails the handshake', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY }));
    const c = await Client(l.address);
    c.send('hello');
    await assert.rejects(l.accept(), AuthenticationError);
    c.close();
  });

  test('a client with a key to a listener without one: bounded wait, TimeoutError', async () => {
    const l = track(new Listener(['127.0.0.1', 0]));
    const started = Date.now();
    const [client, server] = await Promise.allSettled([Client(l.address, { authkey: KEY, timeout: 300 }), l.accept()]);
    assert.ok(client.reason instanceof TimeoutError, String(client.reason));
    assert.ok(Date.now() - started < 5000);
    server.value?.close();
  });
});

describe('hostile peers are cut off while others are served', () => {
  for (const [what, act, check] of [
    ['garbage bytes', (s) => s.write(Buffer.from('\x05\x00\x00\x00\x00GARBAGE-GARBAGE')), (e) => e instanceof AuthenticationError],
    ['an oversized length header', (s) => s.write(Buffer.from([0xff, 0xff, 0xff, 0x7f, 0x00, 1, 2, 3])), (e) => e instanceof OSError && e.message === 'bad message length'],
    ['nothing at all', () => {}, (e) => e instanceof TimeoutError],
    ['EOF right away', (s) => s.end(), (e) => e instanceof EOFError],
  ]) {
    test(what, async () => {
      const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY, handshakeTimeout: 400 }));
      const started = Date.now();
      const hostile = await rawSocket(l.address);
      hostile.on('error', () => {});
      act(hostile);
      // A good client is served while the hostile one is dealt with; accept() reports
      // each peer as its handshake ends (the silent one last, when its time is up).
      const good = Client(l.address, { authkey: KEY });
      const first = await l.accept().then((conn) => ({ conn }), (error) => ({ error }));
      const second = await l.accept().then((conn) => ({ conn }), (error) => ({ error }));
      const s = first.conn ?? second.conn;
      const failure = first.error ?? second.error;
      assert.ok(s && failure, `expected one connection and one failure, got ${first.error ?? 'conn'} / ${second.error ?? 'conn'}`);
      if (what === 'nothing at all') assert.ok(first.conn, 'the good client is served before the silent one times out');
      const c = await good;
      c.send('served');
      assert.equal(await s.recv(), 'served');
      assert.ok(check(failure), `unexpected: ${failure}`);
      assert.ok(Date.now() - started < 5000, 'bounded wait');
      // The hostile socket was closed by the listener.
      await new Promise((resolve) => { if (hostile.destroyed || hostile.readableEnded) resolve(); hostile.once('close', resolve); hostile.resume(); });
      c.close(); s.close();
    });
  }

  test('an oversized length is refused without buffering its payload', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY, handshakeTimeout: 5000 }));
    const hostile = await rawSocket(l.address);
    hostile.on('error', () => {});
    // Announce 1 GiB and keep streaming: the listener must refuse after the header, not after the timeout.
    const header = Buffer.from([0, 0, 0, 0x40, 0]);
    hostile.write(header);
    const chunk = Buffer.alloc(64 * 1024);
    const timer = setInterval(() => { if (!hostile.destroyed) hostile.write(chunk); }, 1);
    const started = Date.now();
    try {
      await assert.rejects(l.accept(), { message: 'bad message length' });
      assert.ok(Date.now() - started < 2000);
    } finally {
      clearInterval(timer);
      hostile.destroy();
    }
  });
});

describe('wait()', () => {
  test('connections: ready ones only, in order; [] after the timeout; negative timeout polls', async () => {
    const l = track(new Listener(['127.0.0.1', 0]));
    const [c1, s1] = await pair(l);
    const [c2, s2] = await pair(l);
    assert.deepEqual(await wait([s1, s2], 50), []);
    assert.deepEqual(await wait([s1, s2], -1), []);
    c2.send('two');
    assert.deepEqual(await wait([s1, s2], 5000), [s2]);
    assert.deepEqual(await wait([s1, s2]), [s2]);
    assert.equal(await s2.recv(), 'two');
    c1.close();
    assert.deepEqual(await wait([s1, s2], 5000), [s1]);
    for (const x of [c2, s1, s2]) x.close();
  });

  test('a Process sentinel is ready when the process has exited', async () => {
    const l = track(new Listener(['127.0.0.1', 0]));
    const [c, s] = await pair(l);
    const p = new Process({ target: echo, args: [s], modules });
    try {
      p.start();
      s.close();
      assert.deepEqual(await wait([p.sentinel, c], 50), []);
      c.send(null);
      const ready = await wait([p.sentinel], 20_000);
      assert.deepEqual(ready.length, 1);
      assert.equal(p.exitcode, 0);
    } finally {
      c.close();
      await reap(p);
    }
  });

  test('a Listener is ready when accept() would not wait', async () => {
    const l = track(new Listener(['127.0.0.1', 0], { authkey: KEY }));
    assert.deepEqual(await wait([l], 30), []);
    const c = await Client(l.address, { authkey: KEY });
    assert.deepEqual(await wait([l], 5000), [l]);
    const s = await l.accept();
    c.close(); s.close();
  });
});
