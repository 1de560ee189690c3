// Bad input everywhere: random and adversarial bytes into the wire decoder (recv), the
// Connection framing, the Listener handshake and the manager protocol. The receiver never
// crashes, never allocates beyond a bound, answers with a clear error, keeps serving others.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BilliardError, Pipe, SyncManager } from 'billiard';
import { Client, Listener } from 'billiard/connection';
import { SHORT, scenario, rssKb, leftoverChildren, rand } from './lib.js';

const ITER = SHORT ? 300 : 3000;
const frame = (tag, payload, len = payload.length) => {
  const h = Buffer.alloc(5); h.writeUInt32LE(len >>> 0, 0); h[4] = tag; return Buffer.concat([h, payload]);
};
const bounded = (p, ms, what) => {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
};
const errName = (e) => (e instanceof BilliardError ? e.constructor.name : `UNTYPED ${e?.constructor?.name}: ${e?.message}`);

/** Adversarial msgpack-ish payloads: huge declared lengths, deep nesting, bogus extensions. */
function adversarial() {
  const deep = (n, b) => Buffer.concat([Buffer.alloc(n, b), Buffer.from([0xc0])]);
  return [
    Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),           // array32 of 4G items
    Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]),           // map32 of 4G entries
    Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x41]),     // str32 of 4G bytes
    Buffer.from([0xc6, 0x7f, 0xff, 0xff, 0xff]),           // bin32 of 2G bytes
    Buffer.from([0xc9, 0x7f, 0xff, 0xff, 0xff, 0x05]),     // ext32 of 2G bytes
    deep(200_000, 0x91),                                   // 200k nested arrays
    deep(200_000, 0x81),                                   // 200k nested maps
    ...Array.from({ length: 256 }, (_, t) => Buffer.from([0xd4, t, 0x00])), // fixext1 of every type
    ...Array.from({ length: 256 }, (_, t) => Buffer.from([0xc7, 0x08, t, ...randomBytes(8)])), // ext8 of every type
    Buffer.alloc(0),
    Buffer.from([0xc1]),                                   // never-used byte
  ];
}
const randomPayload = () => randomBytes(rand(0, 64) < 60 ? rand(0, 64) : rand(64, 4096));

async function decoder() {
  // Object frames (tag 1) with random and adversarial payloads, straight from a raw socket
  // into recv(): every payload goes through the full decoder.
  const listener = new Listener('127.0.0.1:0');
  const inputs = [...adversarial(), ...Array.from({ length: ITER }, randomPayload)];
  const port = Number(listener.address.split(':')[1]);
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const conn = await bounded(listener.accept(), 5000, 'accept');
  let decoded = 0, errors = 0;
  const untyped = new Set(), kinds = new Set();
  const rss0 = rssKb();
  let rssMax = rss0;
  for (const buf of inputs) {
    sock.write(frame(1, buf));
    try { await bounded(conn.recv(), 5000, 'decoder'); decoded++; } catch (e) {
      if (e.message?.startsWith('decoder: no answer')) throw e;
      errors++; kinds.add(errName(e)); if (!(e instanceof BilliardError)) untyped.add(errName(e));
      if (conn.closed) break;
    }
    rssMax = Math.max(rssMax, rssKb());
  }
  // A well-formed object, encoded by the library itself, is still understood.
  const [pa, pb] = Pipe();
  pa.send({ still: 'works' });
  const good = await pb.recvBytes();
  pa.close(); pb.close();
  sock.write(frame(1, good));
  let after;
  try { after = await bounded(conn.recv(), 5000, 'decoder after fuzz'); } catch (e) { after = e; }
  sock.destroy(); conn.close(); listener.close();
  return { inputs: inputs.length, decoded, errors, errorKinds: [...kinds].slice(0, 6), untyped: [...untyped].slice(0, 5), rssGrowthMb: Math.round((rssMax - rss0) / 1024), stillServes: after?.still === 'works' };
}

async function rawPeer(address, bytes) {
  const [host, port] = typeof address === 'string' && address.includes(':') ? address.split(':') : Array.isArray(address) ? address : [null, null];
  return new Promise((resolve) => {
    const s = port ? connect(Number(port), host) : connect(address);
    s.on('error', () => resolve('error'));
    s.on('connect', () => { s.end(bytes); });
    s.on('close', () => resolve('closed'));
    s.resume();
    s.setTimeout(15_000, () => { s.destroy(); resolve('timeout'); });
  });
}

async function framing() {
  // Listener without authkey: peers' frames reach recv()/recvBytes(max) directly.
  const listener = new Listener('127.0.0.1:0');
  const good = Client(listener.address);
  const served = await bounded(listener.accept(), 5000, 'accept good');
  const goodConn = await good;
  const cases = [
    frame(1, Buffer.alloc(0), 0xffffffff),       // 4 GB declared, nothing sent
    frame(0, Buffer.alloc(0), 0xfffffff0),
    frame(2, randomBytes(100)),                  // an attachment with no object
    frame(7, randomBytes(10)),                   // unknown tag
    frame(16, randomBytes(10)),                  // control tag on a user connection
    randomBytes(3),                              // truncated header
    frame(1, randomBytes(100), 1000),            // truncated payload
    ...Array.from({ length: SHORT ? 20 : 200 }, () => randomBytes(rand(1, 2000))),
  ];
  let clearErrors = 0, values = 0, eof = 0;
  const untyped = new Set(), kinds = new Set();
  const rss0 = rssKb();
  for (const bytes of cases) {
    const peerDone = rawPeer(listener.address, bytes);
    const conn = await bounded(listener.accept(), 5000, 'accept fuzz');
    // Half of the time with a length limit (must refuse from the header), half plain recv().
    try {
      for (let i = 0; i < 4; i++) {
        if (Math.random() < 0.5) await bounded(conn.recvBytes(1 << 20), 5000, 'recvBytes'); else await bounded(conn.recv(), 5000, 'recv');
        values++;
      }
    } catch (e) {
      if (e.message?.includes('no answer')) throw e;
      if (e.constructor.name === 'EOFError') eof++; else { clearErrors++; kinds.add(errName(e)); }
      if (!(e instanceof BilliardError)) untyped.add(errName(e));
    }
    conn.close();
    await peerDone;
    // The other peer is still served.
    goodConn.send(['ping', clearErrors]);
    const m = await bounded(served.recv(), 5000, 'good peer');
    if (m[0] !== 'ping') throw new Error('good peer got garbage');
  }
  goodConn.close(); served.close(); listener.close();
  return { inputs: cases.length, clearErrors, errorKinds: [...kinds], eof, values, untyped: [...untyped], rssGrowthMb: Math.round((rssKb() - rss0) / 1024) };
}

async function handshake() {
  const authkey = randomBytes(32);
  const listener = new Listener('127.0.0.1:0', { authkey, handshakeTimeout: 2000 });
  const cases = [
    Buffer.alloc(0),
    frame(0, Buffer.alloc(0), 0xffffffff),
    frame(0, randomBytes(256)),
    frame(0, randomBytes(257)),
    frame(0, Buffer.from('{sha256}' + 'a'.repeat(32))),
    frame(0, Buffer.from('{md5}' + 'a'.repeat(16))),
    frame(0, Buffer.from('{bogus}xyz')),
    frame(0, Buffer.from('#WELCOME#')),
    frame(1, Buffer.from([0x92, 0x01, 0x02])),       // an object before authenticating
    ...Array.from({ length: SHORT ? 20 : 200 }, () => randomBytes(rand(1, 600))),
  ];
  let rejected = 0, accepted = 0, goodServed = 0;
  const untyped = new Set();
  const silent = connect(listener.address.split(':')[1] | 0, '127.0.0.1');   // a slowloris that never answers
  silent.on('error', () => {});
  for (const bytes of cases) {
    const peer = rawPeer(listener.address, bytes);
    const good = Client(listener.address, { authkey });
    // accept() reports the failed peer (rejects) and then hands out the good one.
    for (let tries = 0; tries < 3; tries++) {
      try {
        const conn = await bounded(listener.accept(), 8000, 'accept');
        const g = await good;
        g.send('hello');
        if ((await bounded(conn.recv(), 5000, 'good recv')) === 'hello') goodServed++;
        g.close(); conn.close();
        accepted++;
        break;
      } catch (e) {
        if (e.message?.includes('no answer')) throw e;
        rejected++;
        if (!(e instanceof BilliardError)) untyped.add(errName(e));
      }
    }
    await peer;
  }
  silent.destroy();
  listener.close();
  return { inputs: cases.length, rejected, goodServed, untyped: [...untyped] };
}

async function managerProtocol() {
  const authkey = randomBytes(32);
  const mgr = new SyncManager({ address: '127.0.0.1:0', authkey });
  await mgr.start();
  const pid = mgr.process.pid;
  const d = await mgr.dict();
  await d.set('k', 1);
  const rss0 = rssKb(pid);
  // Unauthenticated garbage first.
  for (let i = 0; i < (SHORT ? 20 : 100); i++) await rawPeer(mgr.address, randomBytes(rand(1, 500)));
  // Then an authenticated peer speaking nonsense.
  let replies = 0, errorReplies = 0, closedByServer = 0, sent = 0;
  const messages = () => [
    randomBytes(rand(0, 200)), [0, 1, 1e6, 'get', []], [1, 2, 'nonexistent-type', []], [99, 3], 'string', {}, [0], [],
    [0, 4, 1e6 + 1, '__proto__', [1]], [0, 5, -1, 'constructor', []], [1, 6, 'dict', [randomBytes(10)]],
    [7, 'x'], [0, 'x', 'y', 'z', 'w'], [2, 'abc'], [3, 1e6, -5], [4, 1e6, null], [5, 1e6, 42],
    [0, 7, 1e6, 'get', new Array(100).fill(0)], [1, 8, 'Namespace', { length: 1e9 }],
  ];
  let conn = await Client(mgr.address, { authkey });
  for (let round = 0; round < (SHORT ? 5 : 40); round++) {
    for (const m of messages()) {
      sent++;
      try {
        if (Buffer.isBuffer(m)) conn.sendBytes(m); else conn.send(m);
        if (await conn.poll(300)) {
          const r = await conn.recv();
          replies++;
          if (Array.isArray(r) && r[1] !== 0) errorReplies++;
        }
      } catch {
        closedByServer++;
        conn.close();
        conn = await Client(mgr.address, { authkey });
      }
      // The legitimate proxy keeps working.
      if ((await bounded(d.get('k'), 5000, 'manager proxy')) !== 1) throw new Error('manager lost state');
    }
  }
  conn.close();
  const alive = mgr.process.isAlive();
  const rssGrowthMb = Math.round((rssKb(pid) - rss0) / 1024);
  await mgr.shutdown();
  return { sent, replies, errorReplies, closedByServer, managerAlive: alive, managerRssGrowthMb: rssGrowthMb };
}

await scenario('fuzz', SHORT ? 60_000 : 300_000, async () => {
  const figures = {}, notes = [];
  let ok = true;
  for (const [name, fn] of Object.entries({ decoder, framing, handshake, managerProtocol })) {
    try {
      const r = await fn();
      figures[name] = r;
      const pass = (r.untyped?.length ?? 0) === 0 && (r.rssGrowthMb ?? 0) < 200 && (r.managerRssGrowthMb ?? 0) < 200
        && r.stillServes !== false && r.managerAlive !== false && (name !== 'handshake' || r.goodServed === r.inputs);
      if (!pass) { ok = false; notes.push(`${name} failed`); }
    } catch (e) {
      ok = false;
      figures[name] = { error: `${e.constructor.name}: ${e.message}` };
      notes.push(`${name}: ${e.stack}`);
    }
  }
  const left = leftoverChildren();
  if (left.length) { ok = false; notes.push(`children left: ${JSON.stringify(left)}`); }
  return { ok, figures, notes };
});
