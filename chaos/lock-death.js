// Lock holder death: a process SIGKILLed while holding a Lock, an RLock, inside a Barrier
// wait (the barrier breaks: every waiter gets BrokenBarrierError), and while putting large items
// on a Queue: the others proceed.
import { Barrier, BrokenBarrierError, Lock, Pipe, Process, Queue, RLock } from 'billiard';
import { SHORT, TASKS, scenario, leftoverChildren } from './lib.js';
import { barrierWait, holdLock, holdRLock, putBig, queueChurn } from './tasks.js';

const modules = [TASKS];
const BOUND = 10_000;
const REPS = SHORT ? 1 : 3;

const bounded = (p, ms = BOUND) => {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`no progress in ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
};

function start(target, args) {
  const [a, b] = Pipe();
  const p = new Process({ target, args: [...args.slice(0, 1), b, ...args.slice(1)], modules });
  p.start();
  b.close();
  return { p, conn: a };
}

async function killed({ p, conn }) {
  p.kill();
  await p.join();
  conn.close();
  return p.exitcode;
}

const cases = {
  async lock() {
    const lock = new Lock();
    const c = start(holdLock, [lock]);
    await bounded(c.conn.recv());
    if (await lock.acquire({ block: false })) {
      const alive = c.p.isAlive();
      const how = lock.ownerDied ? 'taken over as from a dead owner' : 'free';
      lock.release();
      await killed(c);
      throw new Error(`lock not held by the child (child alive: ${alive}, exitcode ${c.p.exitcode}; lock was ${how})`);
    }
    await killed(c);
    const t0 = Date.now();
    const got = await bounded(lock.acquire());
    const ms = Date.now() - t0;
    lock.release();
    // Still a working lock afterwards, across processes.
    const c2 = start(holdLock, [lock]);
    await bounded(c2.conn.recv());
    await killed(c2);
    await bounded(lock.acquire());
    lock.release();
    return { ok: got === true, ms };
  },
  async rlock() {
    const lock = new RLock();
    const c = start(holdRLock, [lock]);
    await bounded(c.conn.recv());
    await killed(c);
    const t0 = Date.now();
    const got = await bounded(lock.acquire());
    const ms = Date.now() - t0;
    lock.release();
    const again = await lock.acquire({ block: false });
    if (again) lock.release();
    return { ok: got === true && again === true, ms };
  },
  async barrier() {
    // Two ways to meet the death: this process arrives last after it (and must not release the
    // others), or every survivor already sleeps in wait() and must notice it. Both: everyone gets
    // BrokenBarrierError (CPython's abort()), and after reset() the barrier works again.
    const out = { ok: true, ms: 0, mine: [], theirs: [] };
    for (const lastArrives of [true, false]) {
      const parties = lastArrives ? 3 : 4;
      const barrier = new Barrier(parties);
      const victim = start(barrierWait, [barrier]);
      const other = start(barrierWait, [barrier]);
      await bounded(victim.conn.recv());
      await bounded(other.conn.recv());
      // Wait until both children are inside wait() (nWaiting is the shared count).
      while (barrier.nWaiting < 2) await new Promise((r) => setTimeout(r, 5));
      const settle = (p) => bounded(p).then((r) => `ok ${r}`, (e) => (e instanceof BrokenBarrierError ? 'BrokenBarrierError' : `${e.constructor.name}: ${e.message}`));
      let mine;
      if (!lastArrives) {
        mine = settle(barrier.wait());
        while (barrier.nWaiting < 3) await new Promise((r) => setTimeout(r, 5));
      }
      const t0 = Date.now();
      await killed(victim);
      if (lastArrives) mine = settle(barrier.wait());
      const [m, theirs] = await Promise.all([mine, bounded(other.conn.recv())]);
      const ms = Date.now() - t0;
      await killed(other);
      const broken = barrier.broken;
      // Usable again after reset(): a whole cycle, in this process.
      barrier.reset();
      const cycle = (await bounded(Promise.all(Array.from({ length: parties }, () => barrier.wait())))).sort().join();
      const ok = m === 'BrokenBarrierError' && theirs.err === 'BrokenBarrierError' && broken && cycle === [...Array(parties).keys()].join();
      out.ok &&= ok;
      out.ms = Math.max(out.ms, ms);
      out.mine.push(`${lastArrives ? 'last arrival' : 'asleep'}: ${m} in ${ms} ms${ok ? '' : ` (broken ${broken}, cycle after reset ${cycle})`}`);
      out.theirs.push(theirs);
    }
    return out;
  },
  async queue() {
    const q = new Queue(4);
    const size = 8 << 20;
    const c = start(putBig, [q, size]);
    await bounded(c.conn.recv());
    // Let it fill the queue and block in a put, or be mid-write, then kill it.
    await new Promise((r) => setTimeout(r, 150));
    await killed(c);
    const t0 = Date.now();
    let got = 0, bad = 0;
    while (!q.empty()) {
      const item = await bounded(q.get({ timeout: 2000 }));
      if (item.length === size && item[0] === 7 && item[size - 1] === 7) got++; else bad++;
    }
    // Others proceed: another producer and this consumer.
    const p = new Process({ target: queueChurn, args: [q, 50], modules });
    p.start();
    let n = 0;
    while (n < 50) { const x = await bounded(q.get()); if (x.i !== n) throw new Error(`FIFO broken: ${x.i} != ${n}`); n++; }
    await p.join();
    await bounded(q.put('tail'));
    const tail = await bounded(q.get());
    const ms = Date.now() - t0;
    q.close();
    return { ok: bad === 0 && n === 50 && tail === 'tail' && p.exitcode === 0, ms, bigItemsRead: got, partialItems: bad };
  },
};

await scenario('lock-death', SHORT ? 60_000 : 180_000, async () => {
  const figures = {}, notes = [];
  let ok = true;
  for (const [name, run] of Object.entries(cases)) {
    const res = [];
    for (let i = 0; i < REPS; i++) {
      try { res.push(await run()); } catch (e) { res.push({ ok: false, error: `${e.constructor.name}: ${e.message}` }); }
    }
    const pass = res.every((r) => r.ok);
    ok &&= pass;
    figures[name] = { pass, worstMs: Math.max(...res.map((r) => r.ms ?? -1)) };
    if (!pass) notes.push(`${name}: ${JSON.stringify(res)}`);
    else if (res[0].mine) notes.push(`${name}: this process ${res[0].mine.join('; ')}; other child ${JSON.stringify(res[0].theirs)}`);
    else if (res[0].bigItemsRead !== undefined) notes.push(`${name}: ${res[0].bigItemsRead} whole big items read, ${res[0].partialItems} partial`);
  }
  const left = leftoverChildren();
  if (left.length) { ok = false; notes.push(`children left: ${JSON.stringify(left)}`); }
  return { ok, figures, notes };
});
