// Bad input everywhere: random and adversarial bytes into the wire decoder (recv), the
// Connection framing, the Listener handshake and the manager protocol. The receiver never
// crashes, never allocates beyond a bound, answers with a clear error, keeps serving others.
// "A bound": a frame header claiming gigabytes allocates nothing for the claim (memory follows
// the bytes that really arrived), and where a limit applies (recvBytes(maxlength), the
// handshake's 256 bytes) it is refused from the header alone, before any payload.
import { writeSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BilliardError, Pipe, SyncManager } from 'billiard';
import { Client, Listener } from 'billiard/connection';
import { SHORT, scenario, rssKb, leftoverChildren, rand } from './lib.js';

const ITER = SHORT ? 300 : 3000;
/** `--part=decoder,hugeClaims`: run only those parts (for debugging). */
const PARTS = process.argv.find((a) => a.startsWith('--part='))?.slice(7).split(',');
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

/** A raw TCP peer that sends `bytes` and keeps its end open until destroyed. */
async function openPeer(port, bytes) {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise((r) => s.on('connect', r));
  s.write(bytes);
  const closed = new Promise((r) => s.on('close', r));
  s.resume();
  return { s, closed };
}
const HUGE = 0xfffffff0;
const externalMb = () => (process.memoryUsage().arrayBuffers + process.memoryUsage().external) / 2 ** 20;

/**
 * Frame headers claiming ~4 GB, with the peer then silent but connected (so nothing but the
 * header can explain a reaction): where a limit applies the claim is refused at once; where
 * none does, nothing is allocated for it and the receiver just waits for bytes.
 */
async function hugeClaims() {
  const out = { checks: 0, failures: [] };
  const check = (ok, what) => { out.checks++; if (!ok) out.failures.push(what); };
  // Connection: recvBytes(maxlength) refuses from the header; recv() waits, allocating nothing.
  const listener = new Listener('127.0.0.1:0');
  const port = Number(listener.address.split(':')[1]);
  for (const limited of [true, false]) {
    const peer = await openPeer(port, Buffer.concat([frame(0, Buffer.alloc(0), HUGE), randomBytes(1 << 20)]));
    const conn = await bounded(listener.accept(), 5000, 'accept huge');
    const mem0 = externalMb();
    const t0 = Date.now();
    if (limited) {
      let err;
      try { await bounded(conn.recvBytes(1 << 20), 3000, 'recvBytes(max) of a huge claim'); } catch (e) { err = e; }
      check(err instanceof BilliardError && Date.now() - t0 < 1000, `Connection.recvBytes(1 MB) of a 4 GB claim: ${err ? errName(err) : 'accepted'} after ${Date.now() - t0} ms`);
    } else {
      const pending = conn.recv().then(() => 'value', (e) => e);
      const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r('waiting'), 300))]);
      const grown = externalMb() - mem0;
      check(early === 'waiting' && grown < 64, `Connection.recv() of a 4 GB claim: ${early === 'waiting' ? 'waits' : errName(early)}, +${grown.toFixed(1)} MB`);
      peer.s.destroy();
      const end = await bounded(pending, 3000, 'recv after the peer left');
      check(end instanceof BilliardError, `Connection.recv() when the claiming peer leaves: ${end === 'value' ? 'a value' : errName(end)}`);
    }
    conn.close();
    peer.s.destroy();
  }
  listener.close();
  // Listener handshake: refused from the header, long before its 10 s handshake timeout.
  const authed = new Listener('127.0.0.1:0', { authkey: randomBytes(32), handshakeTimeout: 10_000 });
  {
    const peer = await openPeer(Number(authed.address.split(':')[1]), frame(0, Buffer.alloc(0), HUGE));
    const t0 = Date.now();
    let err;
    try { await bounded(authed.accept(), 5000, 'handshake of a huge claim'); } catch (e) { err = e; }
    check(err instanceof BilliardError && err.constructor.name !== 'TimeoutError' && Date.now() - t0 < 1000,
      `Listener handshake, 4 GB claim: ${err ? errName(err) : 'accepted'} after ${Date.now() - t0} ms`);
    await bounded(peer.closed, 3000, 'server closes the claiming peer');
    peer.s.destroy();
  }
  authed.close();
  // Manager: an unauthenticated claim is dropped at once; an authenticated one allocates nothing.
  const authkey = randomBytes(32);
  const mgr = new SyncManager({ address: '127.0.0.1:0', authkey });
  await mgr.start();
  try {
    const pid = mgr.process.pid;
    const d = await mgr.dict();
    await d.set('k', 1);
    const mport = Number(String(mgr.address).split(':')[1]);
    const t0 = Date.now();
    const unauth = await openPeer(mport, frame(0, Buffer.alloc(0), HUGE));
    await bounded(unauth.closed, 3000, 'manager drops an unauthenticated 4 GB claim');
    check(Date.now() - t0 < 1000, `manager, unauthenticated 4 GB claim: dropped after ${Date.now() - t0} ms`);
    const rss0 = rssKb(pid);
    const conn = await Client(mgr.address, { authkey });
    const claims = [];
    for (let i = 0; i < 8; i++) {
      const c = i === 0 ? conn : await Client(mgr.address, { authkey });
      // A raw header on an authenticated connection, as a peer writing by hand would send it.
      writeSync(c.fileno(), frame(1, Buffer.alloc(0), HUGE));
      claims.push(c);
    }
    await new Promise((r) => setTimeout(r, 300));
    const grownMb = (rssKb(pid) - rss0) / 1024;
    check((await bounded(d.get('k'), 5000, 'manager serves others')) === 1 && grownMb < 64,
      `manager, authenticated 4 GB claims: +${grownMb.toFixed(1)} MB, still serving`);
    for (const c of claims) c.close();
    check(mgr.process.isAlive(), 'manager alive after the claims');
  } finally {
    await mgr.shutdown();
  }
  return out;
}

async function managerProtocol() {
  const authkey = randomBytes(32);
  const mgr = new SyncManager({ address: '127.0.0.1:0', authkey });
  await mgr.start();
  const pid = mgr.process.pid;
  const d = await mgr.dict();
  await d.set('k', 1);
  const legitIds = Object.keys((await mgr.info()).refs).map(Number);
  const rss0 = rssKb(pid);
  // Unauthenticated garbage first.
  for (let i = 0; i < (SHORT ? 20 : 100); i++) await rawPeer(mgr.address, randomBytes(rand(1, 500)));
  // Then an authenticated peer speaking nonsense: fixed adversarial requests, raw random bytes
  // (sendBytes: they must never read as a request; a first byte 6 once read as Shutdown) and
  // random structured requests. What an authenticated peer may legitimately do is left out:
  // Shutdown, and calls on the ids of the real client's objects.
  const fixed = () => [
    [0, 1, 1e6, 'get', []], [1, 2, 'nonexistent-type', []], [99, 3], 'string', {}, [0], [], null, 5, true,
    [0, 4, 1e6 + 1, '__proto__', [1]], [0, 5, -1, 'constructor', []], [1, 6, 'dict', [randomBytes(10)]],
    [7, 'x'], [0, 'x', 'y', 'z', 'w'], [2, 'abc'], [3, 1e6, -5], [4, 1e6, null], [5, 1e6, 42], [6], [6, 'x'],
    [0, 7, 1e6, 'get', new Array(100).fill(0)], [1, 8, 'Namespace', { length: 1e9 }], [0, 9, 1e6, 'get', 5],
    Buffer.from([6, 1, 2, 3]), Buffer.from([0, 1, 1, 0x67]), Buffer.alloc(0),
  ];
  const names = ['get', 'keys', '__proto__', 'constructor', 'toString', '#getvalue', 'dict', 'list', 'Namespace', 'x'];
  const scalar = () => [rand(-2, 12), 1e6, -1, 2 ** 53, 1.5, NaN, null, undefined, true, names[rand(0, names.length - 1)], randomBytes(rand(0, 8))][rand(0, 10)];
  const value = (depth = 0) => (depth < 2 && rand(0, 4) === 0 ? Array.from({ length: rand(0, 3) }, () => value(depth + 1)) : rand(0, 9) === 0 ? { a: scalar() } : scalar());
  const randomRequest = () => {
    const req = [[0, 1, 2, 3, 4, 5, 7, 8, 99, -1][rand(0, 9)], ...Array.from({ length: rand(0, 5) }, () => value())];
    if (req[0] === 0 && legitIds.includes(req[2])) req[2] = 1e6; // not the real client's objects
    return req;
  };
  let replies = 0, errorReplies = 0, closedByServer = 0, sent = 0, ping = 1e9;
  let conn = await Client(mgr.address, { authkey });
  for (let round = 0; round < (SHORT ? 5 : 40); round++) {
    const batch = [...fixed(), ...Array.from({ length: 10 }, () => randomBytes(rand(1, 64))), ...Array.from({ length: 40 }, randomRequest)];
    for (const m of batch) {
      sent++;
      try {
        if (Buffer.isBuffer(m)) conn.sendBytes(m); else conn.send(m);
        // Requests are answered in order: once the Info request's reply is here, so is any reply to `m`.
        const id = ++ping;
        conn.send([7, id]);
        for (;;) {
          const r = await bounded(conn.recv(), 5000, 'manager reply');
          if (Array.isArray(r) && r[0] === id) break;
          replies++;
          if (Array.isArray(r) && r[1] !== 0) errorReplies++;
        }
      } catch (e) {
        if (e.message?.includes('no answer')) throw e;
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
  for (const [name, fn] of Object.entries({ decoder, framing, handshake, hugeClaims, managerProtocol })) {
    if (PARTS && !PARTS.includes(name)) continue;
    try {
      const r = await fn();
      figures[name] = r;
      const pass = (r.untyped?.length ?? 0) === 0 && (r.rssGrowthMb ?? 0) < 200 && (r.managerRssGrowthMb ?? 0) < 200
        && r.stillServes !== false && r.managerAlive !== false && (name !== 'handshake' || r.goodServed === r.inputs)
        && (r.failures?.length ?? 0) === 0 && (r.closedByServer ?? 0) === 0;
      if (!pass) { ok = false; notes.push(`${name} failed${r.failures?.length ? `: ${r.failures.join('; ')}` : ''}`); }
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
