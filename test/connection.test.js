// Pipe and Connection: CPython's semantics and errors, in one process and across
// processes (connections as Process arguments, large messages, sync receivers).
import { writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BufferTooShort, Connection, EOFError, OSError, Pipe, Process, ProcessError, ValueError,
} from 'billiard';
import { TASKS, fixture, reap, runScript } from './fixtures/helpers.js';
import { readTwo } from './fixtures/send-to-reader.js';
import { connRole, echoAsync, echoBytes, echoBytesSync, echoSync, reply, sendAndExit } from './fixtures/tasks.js';

const modules = [TASKS];

/** Accept the error as a synchronous throw or a rejection (see the dedicated sync test). */
async function failsWith(fn, check) {
  await assert.rejects(async () => fn(), check);
}
const oserror = (message) => (e) => e instanceof OSError && e.message === message;
const valueError = (message) => (e) => e instanceof ValueError && e.message === message;

/** Run `fn(a, b)` on a fresh Pipe(duplex) and close both ends afterwards. */
async function withPipe(duplex, fn) {
  const [a, b] = Pipe(duplex);
  try {
    return await fn(a, b);
  } finally {
    a.close();
    b.close();
  }
}

describe('Pipe', () => {
  test('Pipe() is duplex: both ends read and write', () => withPipe(true, async (a, b) => {
    assert.ok(a instanceof Connection && b instanceof Connection);
    for (const c of [a, b]) {
      assert.equal(c.readable, true);
      assert.equal(c.writable, true);
      assert.equal(c.closed, false);
    }
    a.send('to b');
    b.send('to a');
    assert.equal(await b.recv(), 'to b');
    assert.equal(await a.recv(), 'to a');
  }));

  test('Pipe(false) is [reader, writer]', () => withPipe(false, async (r, w) => {
    assert.deepEqual([r.readable, r.writable], [true, false]);
    assert.deepEqual([w.readable, w.writable], [false, true]);
    w.send({ x: 1 });
    assert.deepEqual(await r.recv(), { x: 1 });
  }));

  test('messages keep their order', () => withPipe(true, async (a, b) => {
    for (let i = 0; i < 1000; i++) a.send(i);
    for (let i = 0; i < 1000; i++) assert.equal(await b.recv(), i);
  }));

  test('new Connection() validates its handle and flags', () => {
    assert.throws(() => new Connection(-1), valueError('invalid handle'));
    assert.throws(() => new Connection(0, { readable: false, writable: false }),
      valueError('at least one of `readable` and `writable` must be True'));
  });
});

describe('bytes', () => {
  test('sendBytes/recvBytes, with offset and size, and the empty message', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.from('hello'));
    a.sendBytes(Buffer.from('0123456789'), 2);
    a.sendBytes(Buffer.from('0123456789'), 2, 3);
    a.sendBytes(Buffer.alloc(0));
    a.sendBytes(new Uint8Array([1, 2, 3]).buffer);
    assert.equal((await b.recvBytes()).toString(), 'hello');
    assert.equal((await b.recvBytes()).toString(), '23456789');
    assert.equal((await b.recvBytes()).toString(), '234');
    const empty = await b.recvBytes();
    assert.ok(Buffer.isBuffer(empty));
    assert.equal(empty.length, 0);
    assert.deepEqual([...(await b.recvBytes())], [1, 2, 3]);
  }));

  test('offset and size count bytes, even for typed arrays', () => withPipe(true, async (a, b) => {
    const ints = Int32Array.of(7, 8);
    a.sendBytes(ints, 1, 1);
    a.sendBytes(ints, 4);
    assert.deepEqual([...(await b.recvBytes())], [0]);
    assert.deepEqual([...(await b.recvBytes())], [8, 0, 0, 0]);
    // A view into a larger buffer sends only its own bytes.
    const big = Uint8Array.of(0, 1, 2, 3, 4, 5);
    a.sendBytes(big.subarray(2, 5), 1);
    assert.deepEqual([...(await b.recvBytes())], [3, 4]);
  }));

  test('sendBytes validates offset and size (ValueError, synchronously, nothing sent)', () => withPipe(true, async (a, b) => {
    const buf = Buffer.alloc(4);
    assert.throws(() => a.sendBytes(buf, -1), valueError('offset is negative'));
    assert.throws(() => a.sendBytes(buf, 5), valueError('buffer length < offset'));
    assert.throws(() => a.sendBytes(buf, 1, -1), valueError('size is negative'));
    assert.throws(() => a.sendBytes(buf, 1, 4), valueError('buffer length < offset + size'));
    assert.throws(() => a.sendBytes(Int16Array.of(1, 2), 2, 3), valueError('buffer length < offset + size'));
    assert.equal(await b.poll(50), false);
  }));

  test('recvBytes(maxlength): a longer message is "bad message length" and the connection becomes unreadable', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.alloc(10));
    await failsWith(() => b.recvBytes(-1), valueError('negative maxlength'));
    await failsWith(() => b.recvBytes(5), oserror('bad message length'));
    assert.equal(b.readable, false);
    assert.equal(b.writable, true);
    assert.equal(b.closed, false);
    await failsWith(() => b.recv(), oserror('connection is write-only'));
    // Still writable.
    b.send('still writable');
    assert.equal(await a.recv(), 'still writable');
  }));

  test('recvBytes(maxlength) on a read-only end closes it', () => withPipe(false, async (r, w) => {
    w.sendBytes(Buffer.alloc(10));
    await failsWith(() => r.recvBytes(9), oserror('bad message length'));
    assert.equal(r.closed, true);
    await failsWith(() => r.recv(), oserror('handle is closed'));
  }));

  test('recvBytes(maxlength) refuses a longer message from its header alone, without waiting for (or buffering) the payload', () => withPipe(true, async (a, b) => {
    // A peer writing by hand: a header claiming 1 GB, then silence.
    const header = Buffer.alloc(5);
    header.writeUInt32LE(1 << 30, 0);
    writeSync(a.fileno(), header);
    const t0 = performance.now();
    await failsWith(() => b.recvBytes(1024), oserror('bad message length'));
    assert.ok(performance.now() - t0 < 1000);
    // The same, blocking the thread.
    const [p, q] = Pipe(true);
    try {
      writeSync(p.fileno(), header);
      assert.throws(() => q.recvBytesSync(1024), oserror('bad message length'));
    } finally {
      p.close();
      q.close();
    }
  }));

  test('recvBytes(maxlength) accepts a message of exactly maxlength', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.alloc(10, 1));
    assert.equal((await b.recvBytes(10)).length, 10);
  }));

  test('recvBytesInto(buf, offset): returns the byte count, offset in bytes', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.from('abc'));
    const target = Buffer.alloc(8, 0x2e);
    assert.equal(await b.recvBytesInto(target, 2), 3);
    assert.equal(target.toString(), '..abc...');
    a.sendBytes(Uint8Array.of(1, 0, 0, 0));
    const ints = new Int32Array(3);
    assert.equal(await b.recvBytesInto(ints, 4), 4);
    assert.deepEqual([...ints], [0, 1, 0]);
    a.sendBytes(Buffer.alloc(0));
    assert.equal(await b.recvBytesInto(Buffer.alloc(1), 1), 0);
  }));

  test('recvBytesInto: BufferTooShort carries the whole message, which is consumed', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.from('0123456789'));
    a.sendBytes(Buffer.from('next'));
    const target = Buffer.alloc(8);
    await failsWith(() => b.recvBytesInto(target, 0), (e) => {
      assert.ok(e instanceof BufferTooShort && e instanceof ProcessError);
      assert.equal(Buffer.from(e.buffer).toString(), '0123456789');
      return true;
    });
    assert.equal((await b.recvBytes()).toString(), 'next');
  }));

  test('recvBytesInto validates the offset (ValueError)', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.from('x'));
    await failsWith(() => b.recvBytesInto(Buffer.alloc(4), -1), valueError('negative offset'));
    await failsWith(() => b.recvBytesInto(Buffer.alloc(4), 5), valueError('offset too large'));
    await failsWith(() => b.recvBytesInto(Int32Array.of(1), 5), valueError('offset too large'));
    // Nothing was consumed.
    assert.equal((await b.recvBytes()).toString(), 'x');
  }));

  test('recv() returns a sendBytes message as a Buffer; recvBytes() returns a send message as bytes', () => withPipe(true, async (a, b) => {
    a.sendBytes(Buffer.from('raw'));
    assert.equal(Buffer.from(await b.recv()).toString(), 'raw');
    a.send({ x: 1 });
    const bytes = await b.recvBytes();
    assert.ok(Buffer.isBuffer(bytes) && bytes.length > 0);
  }));
});

describe('poll', () => {
  test('poll() without data is false at once; poll(ms) waits that long; poll(null) waits for data', () => withPipe(true, async (a, b) => {
    let t = performance.now();
    assert.equal(await b.poll(), false);
    assert.equal(await b.poll(0), false);
    assert.equal(await b.poll(-1), false);
    assert.ok(performance.now() - t < 50);
    t = performance.now();
    assert.equal(await b.poll(100), false);
    const waited = performance.now() - t;
    assert.ok(waited >= 90 && waited < 5000, `poll(100) took ${waited} ms`);
    setTimeout(() => a.send('late'), 30);
    assert.equal(await b.poll(null), true);
    assert.equal(await b.recv(), 'late');
  }));

  test('poll never consumes, splits or merges messages', () => withPipe(true, async (a, b) => {
    a.send('one');
    a.sendBytes(Buffer.from('two'));
    a.send({ three: 3 });
    assert.equal(await b.poll(1000), true);
    assert.equal(await b.poll(1000), true);
    assert.equal(await b.recv(), 'one');
    assert.equal(await b.poll(1000), true);
    assert.equal((await b.recvBytes()).toString(), 'two');
    assert.equal(await b.poll(1000), true);
    assert.deepEqual(await b.recv(), { three: 3 });
    assert.equal(await b.poll(20), false);
    // Many sizes back to back: every message arrives whole and alone.
    const sizes = [0, 1, 5, 4096, 65535, 65536, 65537, 300_000, 3];
    for (const n of sizes) a.sendBytes(Buffer.alloc(n, n & 0xff));
    for (const n of sizes) {
      assert.equal(await b.poll(5000), true);
      const m = await b.recvBytes();
      assert.equal(m.length, n);
      assert.ok(m.every((x) => x === (n & 0xff)));
    }
  }));

  test('poll is true at EOF', () => withPipe(true, async (a, b) => {
    a.close();
    assert.equal(await b.poll(5000), true);
    assert.equal(b.pollSync(0), true);
  }));

  test('pollSync/recvSync/recvBytesSync once data has arrived', () => withPipe(true, async (a, b) => {
    a.send({ n: 1 });
    a.sendBytes(Buffer.from('bytes'));
    a.send('last');
    assert.equal(await b.poll(5000), true);
    assert.equal(b.pollSync(1000), true);
    assert.deepEqual(b.recvSync(), { n: 1 });
    assert.equal(b.recvBytesSync().toString(), 'bytes');
    assert.equal(b.recvSync(), 'last');
    const t = performance.now();
    assert.equal(b.pollSync(50), false);
    assert.ok(performance.now() - t >= 45);
  }));

  test('a.send(x) then b.pollSync() in the same tick sees the message (CPython writes at once)', () => withPipe(true, async (a, b) => {
    a.send('now');
    assert.equal(b.pollSync(1000), true);
    assert.equal(b.recvSync(), 'now');
    a.sendBytes(Buffer.from('now too'));
    assert.equal(b.pollSync(1000), true);
    assert.equal(b.recvBytesSync().toString(), 'now too');
  }));
});

describe('errors', () => {
  test('EOFError when the peer closed and nothing is buffered (after what was buffered)', () => withPipe(true, async (a, b) => {
    a.send('before close');
    a.close();
    assert.equal(await b.recv(), 'before close');
    await failsWith(() => b.recv(), (e) => e instanceof EOFError);
    await failsWith(() => b.recvBytes(), (e) => e instanceof EOFError);
    await failsWith(() => b.recvBytesInto(Buffer.alloc(4)), (e) => e instanceof EOFError);
    assert.throws(() => b.recvSync(), EOFError);
    assert.throws(() => b.recvBytesSync(), EOFError);
  }));

  test('send() then close() still delivers', () => withPipe(true, async (a, b) => {
    a.send({ small: 1 });
    a.sendBytes(Buffer.alloc(1000, 3));
    a.send('after');
    a.close();
    assert.deepEqual(await b.recv(), { small: 1 });
    assert.ok((await b.recvBytes()).equals(Buffer.alloc(1000, 3)));
    assert.equal(await b.recv(), 'after');
    await failsWith(() => b.recv(), EOFError);
  }));

  test('send() of 8 MiB then close() in one process does not block the thread, and delivers', async () => {
    const r = await runScript(fixture('close-after-send.js'), [String(8 << 20)], { timeout: 15_000 });
    assert.equal(r.timedOut, false, 'the program hung');
    assert.match(r.stdout, /RESULT \{"object":true,"bytes":true,"after":"after","eof":true\}/, r.stdout + r.stderr);
  });

  test('send() then close() delivers 8 MiB to a child', async () => {
    const [r, w] = Pipe(false);
    const [ra, rb] = Pipe();
    const p = new Process({ target: readTwo, args: [rb, r], modules: [new URL('./fixtures/send-to-reader.js', import.meta.url).href] });
    try {
      p.start();
      r.close();
      rb.close();
      const big = Buffer.alloc(8 << 20, 0x42);
      w.send({ big });
      w.sendBytes(big);
      w.close();
      assert.deepEqual(await ra.recv(), { object: 8 << 20, firstByte: 0x42, bytes: 8 << 20, eof: true });
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      ra.close();
      w.close();
      await reap(p);
    }
  });

  test('a closed connection: OSError("handle is closed") for every operation; close() is idempotent', async () => {
    const [a, b] = Pipe();
    a.close();
    a.close();
    b.close();
    assert.equal(a.closed, true);
    const closed = oserror('handle is closed');
    assert.throws(() => a.send(1), closed);
    assert.throws(() => a.sendBytes(Buffer.alloc(1)), closed);
    assert.throws(() => a.recvSync(), closed);
    assert.throws(() => a.recvBytesSync(), closed);
    assert.throws(() => a.pollSync(), closed);
    await failsWith(() => a.recv(), closed);
    await failsWith(() => a.recvBytes(), closed);
    await failsWith(() => a.recvBytesInto(Buffer.alloc(1)), closed);
    await failsWith(() => a.poll(), closed);
    await failsWith(() => a.drain(), closed);
  });

  test('read-only and write-only ends', () => withPipe(false, async (r, w) => {
    assert.throws(() => r.send(1), oserror('connection is read-only'));
    assert.throws(() => r.sendBytes(Buffer.alloc(1)), oserror('connection is read-only'));
    assert.throws(() => w.recvSync(), oserror('connection is write-only'));
    assert.throws(() => w.pollSync(), oserror('connection is write-only'));
    await failsWith(() => w.recv(), oserror('connection is write-only'));
    await failsWith(() => w.recvBytes(), oserror('connection is write-only'));
    await failsWith(() => w.poll(), oserror('connection is write-only'));
  }));

  test('validation errors of recv*/poll are thrown synchronously (API rule 3)', async () => {
    const [a, b] = Pipe();
    const [r, w] = Pipe(false);
    a.close();
    const swallow = (p) => { if (p && typeof p.catch === 'function') p.catch(() => {}); };
    try {
      assert.throws(() => swallow(a.recv()), oserror('handle is closed'));
      assert.throws(() => swallow(a.poll()), oserror('handle is closed'));
      assert.throws(() => swallow(w.recv()), oserror('connection is write-only'));
      assert.throws(() => swallow(b.recvBytes(-1)), valueError('negative maxlength'));
      assert.throws(() => swallow(b.recvBytesInto(Buffer.alloc(1), -1)), valueError('negative offset'));
    } finally {
      b.close();
      r.close();
      w.close();
    }
  });

  test('drain() resolves once the bytes are handed to the kernel', () => withPipe(true, async (a, b) => {
    a.send('x');
    await a.drain();
    assert.equal(await b.recv(), 'x');
    const big = Buffer.alloc(4 << 20, 1);
    a.sendBytes(big);
    const drained = a.drain();
    assert.ok((await b.recvBytes()).equals(big));
    await drained;
  }));

  test('Symbol.dispose closes the connection (`using`)', () => {
    const [a, b] = Pipe();
    assert.equal(typeof a[Symbol.dispose], 'function');
    a[Symbol.dispose]();
    assert.equal(a.closed, true);
    b[Symbol.dispose]();
    assert.equal(b.closed, true);
  });
});

describe('across processes', () => {
  async function role(conn, drive) {
    const [ra, rb] = Pipe();
    const p = new Process({ target: connRole, args: [rb, conn], modules });
    try {
      p.start();
      rb.close();
      conn.close();
      const fromParent = await drive();
      const seen = await ra.recv();
      await p.join();
      assert.equal(p.exitcode, 0);
      return { seen, fromParent };
    } finally {
      ra.close();
      await reap(p);
    }
  }

  test('a reader end passed to a child arrives read-only and working', () => withPipe(false, async (r, w) => {
    const { seen } = await role(r, async () => { w.send({ hello: 'child' }); });
    assert.deepEqual(seen, { readable: true, writable: false, closed: false, got: { hello: 'child' } });
  }));

  test('a writer end passed to a child arrives write-only and working', () => withPipe(false, async (r, w) => {
    const { seen, fromParent } = await role(w, () => r.recv());
    assert.deepEqual(seen, { readable: false, writable: true, closed: false });
    assert.equal(fromParent, 'from child');
  }));

  test('a duplex end passed to a child stays duplex', () => withPipe(true, async (a, b) => {
    const { seen } = await role(b, async () => { a.send('duplex'); });
    assert.deepEqual(seen, { readable: true, writable: true, closed: false, got: 'duplex' });
  }));

  test('a child that sends and returns at once: the message is delivered', async () => {
    const [a, b] = Pipe();
    const p = new Process({ target: reply, args: [b, { last: 'words' }], modules });
    try {
      p.start();
      b.close();
      assert.deepEqual(await a.recv(), { last: 'words' });
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      a.close();
      await reap(p);
    }
  });

  test('a child that sends 1 MiB messages and returns at once: both are delivered', async () => {
    const [a, b] = Pipe();
    const p = new Process({ target: sendAndExit, args: [b, 1 << 20], modules });
    try {
      p.start();
      b.close();
      const m = await a.recv();
      assert.equal(m.size, 1 << 20);
      assert.ok(m.data.equals(Buffer.alloc(1 << 20, 0x5a)));
      assert.ok((await a.recvBytes()).equals(Buffer.alloc(1 << 20, 0x5b)));
    } finally {
      a.close();
      await reap(p);
    }
  });

  test('a child looping in recvSync() without yielding to its event loop still sends replies', async () => {
    const [a, b] = Pipe();
    const p = new Process({ target: echoSync, args: [b], modules });
    try {
      p.start();
      b.close();
      for (let i = 0; i < 300; i++) {
        a.send({ i, s: 'x'.repeat(i) });
        assert.deepEqual(await a.recv(), { i, s: 'x'.repeat(i) });
      }
      // Pipelined: many in flight.
      for (let i = 0; i < 300; i++) a.send(i);
      for (let i = 0; i < 300; i++) assert.equal(await a.recv(), i);
      a.close();
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      a.close();
      await reap(p);
    }
  });

  /** Round-trip `size`-byte payloads through an echo child: objects holding Buffers and raw bytes. */
  async function bigEcho(target, size, bytes) {
    const [a, b] = Pipe();
    const p = new Process({ target, args: [b], modules });
    const payload = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (i / 4096) & 0xff;
    payload[size - 1] = 0xee;
    try {
      p.start();
      b.close();
      if (bytes) {
        a.sendBytes(payload);
        const back = await a.recvBytes();
        assert.equal(back.length, size);
        assert.ok(back.equals(payload), 'bytes intact');
      } else {
        a.send({ head: 'h', payload, tail: [1, 2, 3], view: new Float64Array(payload.buffer, payload.byteOffset, 8) });
        const back = await a.recv();
        assert.equal(back.head, 'h');
        assert.deepEqual(back.tail, [1, 2, 3]);
        assert.ok(Buffer.isBuffer(back.payload));
        assert.ok(back.payload.equals(payload), 'buffer intact');
        assert.ok(back.view instanceof Float64Array && back.view.length === 8);
      }
      a.close();
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      a.close();
      await reap(p);
    }
  }

  test('1 MiB: send() of an object with a Buffer, echoed by recvSync', () => bigEcho(echoSync, 1 << 20, false));
  test('1 MiB: sendBytes(), echoed by recvBytesSync', () => bigEcho(echoBytesSync, 1 << 20, true));
  test('64 MiB: send() of an object with a Buffer, echoed asynchronously', () => bigEcho(echoAsync, 64 << 20, false));
  test('64 MiB: sendBytes(), echoed asynchronously', () => bigEcho(echoBytes, 64 << 20, true));
  test('64 MiB: sendBytes(), echoed by recvBytesSync', () => bigEcho(echoBytesSync, 64 << 20, true));
});
