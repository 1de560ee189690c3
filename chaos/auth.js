// Authentication: a wrong authkey, a replayed handshake and an unauthenticated peer get
// nothing deserialized and no access; the default bind is loopback.
import { connect, createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AuthenticationError, BilliardError, SyncManager } from 'billiard';
import { Client, Listener } from 'billiard/connection';
import { SHORT, scenario, leftoverChildren } from './lib.js';

const REPS = SHORT ? 5 : 50;
const bounded = (p, ms, what) => {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
};
const portOf = (addr) => (Array.isArray(addr) ? Number(addr[1]) : Number(String(addr).split(':').pop()));
/** Listening TCP sockets of this machine on `port`: their local IPs (from /proc/net/tcp*). */
function boundHosts(port) {
  const hosts = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue;
      const [ip, p] = cols[1].split(':');
      if (parseInt(p, 16) === port) hosts.push(ip);
    }
  }
  return hosts;
}
const isLoopback = (hexIp) => hexIp === '0100007F' || hexIp === '00000000000000000000000001000000';

async function rawSend(port, bytes) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('data', (d) => { got = Buffer.concat([got, d]); });
    s.on('error', () => {});
    s.on('connect', () => s.write(bytes));
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 1500);
  });
}

await scenario('auth', SHORT ? 60_000 : 300_000, async () => {
  const notes = [];
  const f = { wrongKeyRejected: 0, wrongKeyAccepted: 0, replayRejected: 0, replayAccepted: 0, unauthRejected: 0, unauthDelivered: 0, goodServed: 0 };
  const authkey = randomBytes(32);
  const listener = new Listener('127.0.0.1:0', { authkey, handshakeTimeout: 2000 });
  const port = portOf(listener.address);

  // A man in the middle records one good client's bytes, to replay them later.
  let recorded = Buffer.alloc(0);
  const mitm = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    down.on('data', (d) => { recorded = Buffer.concat([recorded, d]); up.write(d); });
    up.on('data', (d) => down.write(d));
    down.on('close', () => up.destroy()); up.on('close', () => down.destroy());
    down.on('error', () => {}); up.on('error', () => {});
  });
  await new Promise((r) => mitm.listen(0, '127.0.0.1', r));
  {
    const c = Client(`127.0.0.1:${mitm.address().port}`, { authkey });
    const s = await bounded(listener.accept(), 5000, 'accept via mitm');
    const conn = await c;
    conn.send({ secret: 'payload' });
    await bounded(s.recv(), 5000, 'recv via mitm');
    conn.close(); s.close();
  }
  mitm.close();

  for (let i = 0; i < REPS; i++) {
    // Wrong key: both sides see AuthenticationError; nothing reaches accept().
    const bad = Client(listener.address, { authkey: randomBytes(32) }).then(() => 'connected', (e) => e);
    try { await bounded(listener.accept(), 5000, 'accept wrong'); f.wrongKeyAccepted++; } catch (e) {
      if (e instanceof AuthenticationError) f.wrongKeyRejected++; else notes.push(`wrong key: ${e.constructor.name}: ${e.message}`);
    }
    const br = await bad;
    if (!(br instanceof AuthenticationError)) notes.push(`wrong-key client saw ${br}`);

    // Replay the recorded handshake and message: the fresh challenge makes it fail.
    const replayAnswer = rawSend(port, recorded);
    try { const conn = await bounded(listener.accept(), 5000, 'accept replay'); f.replayAccepted++; conn.close(); } catch (e) {
      if (e instanceof BilliardError) f.replayRejected++; else notes.push(`replay: ${e.constructor.name}: ${e.message}`);
    }
    const answer = await replayAnswer;
    if (!answer.includes(Buffer.from('#FAILURE#'))) notes.push('replay: no #FAILURE# answer');

    // Unauthenticated peer sending an object frame first.
    const obj = Buffer.from([0x0a, 0, 0, 0, 1, 0x92, 0xa3, 0x61, 0x62, 0x63, 0x01, 0, 0, 0, 0]);
    const unauth = rawSend(port, obj);
    try { const conn = await bounded(listener.accept(), 5000, 'accept unauth'); f.unauthDelivered++; conn.close(); } catch (e) {
      if (e instanceof BilliardError) f.unauthRejected++; else notes.push(`unauth: ${e.constructor.name}: ${e.message}`);
    }
    await unauth;

    // And a good peer still gets in.
    const good = Client(listener.address, { authkey });
    const s = await bounded(listener.accept(), 5000, 'accept good');
    const g = await good;
    g.send(i);
    if ((await s.recv()) === i) f.goodServed++;
    g.close(); s.close();
  }
  listener.close();

  // Manager: a wrong authkey gets no access, the right one does.
  const mgr = new SyncManager({ address: '127.0.0.1:0', authkey });
  await mgr.start();
  let mgrWrong = 'accepted';
  try { const c = await Client(mgr.address, { authkey: randomBytes(32) }); c.close(); } catch (e) { mgrWrong = e.constructor.name; }
  const d = await mgr.dict();
  await d.set('a', 1);
  const mgrOk = (await d.get('a')) === 1;
  await mgr.shutdown();

  // Default binds: TCP listeners and managers without a host listen on loopback only.
  const l1 = new Listener(null, { family: 'AF_INET' });
  const l2 = new Listener(':0');
  const m2 = new SyncManager({ address: ':0' });
  await m2.start();
  const binds = {
    listenerDefault: boundHosts(portOf(l1.address)), listenerEmptyHost: boundHosts(portOf(l2.address)),
    managerEmptyHost: boundHosts(portOf(m2.address)),
  };
  const m3 = new SyncManager();
  await m3.start();
  binds.managerDefaultAddress = String(m3.address);
  l1.close(); l2.close();
  await m2.shutdown(); await m3.shutdown();
  const loopbackOnly = ['listenerDefault', 'listenerEmptyHost', 'managerEmptyHost'].every((k) => binds[k].length > 0 && binds[k].every(isLoopback));
  const left = leftoverChildren();
  if (left.length) notes.push(`children left: ${JSON.stringify(left)}`);

  const ok = f.wrongKeyAccepted === 0 && f.replayAccepted === 0 && f.unauthDelivered === 0 && f.goodServed === REPS
    && f.wrongKeyRejected === REPS && mgrWrong === 'AuthenticationError' && mgrOk && loopbackOnly && left.length === 0 && notes.length === 0;
  return { ok, notes, figures: { ...f, managerWrongKey: mgrWrong, managerRightKey: mgrOk, loopbackOnly, binds } };
});
