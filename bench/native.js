// Micro-benchmarks of the native backend. Run after building: node bench/native.js
//   cas-lock     uncontended CAS acquire + exchange release on shared memory (ns/op)
//   futex-rtt    futex wake -> wait round trip between two processes (us)
//   async-rtt    the same with the parent waiting through waitAsync (us)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { futexWait, futexWake, mapSegment, unlinkSegment, waitAsync } from '../dist/native/backend.js';

const BACKEND = new URL('../dist/native/backend.js', import.meta.url).href;
const name = `/bt-bench-${process.pid}`;
const seg = mapSegment(name, 4096, { create: true });
const v = new Int32Array(seg.buffer);

function casLock(n) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(v, 0, 0, 1) !== 0) throw new Error('contended');
    if (Atomics.exchange(v, 0, 0) !== 1) throw new Error('lost');
  }
  return Number(process.hrtime.bigint() - t) / n;
}

// Ping-pong on word 1: the parent writes odd values, the child answers with the next even one.
const PONG = `
import { futexWait, futexWake, mapSegment } from ${JSON.stringify(BACKEND)};
const s = mapSegment(process.argv[1], 0, { create: false });
const v = new Int32Array(s.buffer);
const n = Number(process.argv[2]);
console.log('ready');
for (let i = 0; i < n; i++) {
  const ping = 2 * i + 1;
  while (Atomics.load(v, 1) !== ping) futexWait(s, 4, 2 * i);
  Atomics.store(v, 1, ping + 1);
  futexWake(s, 4, 1);
}
`;

async function roundTrip(n, asyncWait) {
  Atomics.store(v, 1, 0);
  const cp = spawn(process.execPath, ['--input-type=module', '-e', PONG, name, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => cp.once('exit', resolve));
  await createInterface({ input: cp.stdout })[Symbol.asyncIterator]().next();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const ping = 2 * i + 1;
    Atomics.store(v, 1, ping);
    futexWake(seg, 4, 1);
    while (Atomics.load(v, 1) === ping) {
      if (asyncWait) await waitAsync(seg, 4, ping);
      else futexWait(seg, 4, ping);
    }
  }
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  if ((await exited) !== 0) throw new Error('pong child failed');
  return us;
}

try {
  casLock(1_000_000); // warm up
  const cas = casLock(20_000_000);
  const rtt = await roundTrip(20_000, false);
  const artt = await roundTrip(5_000, true);
  console.log(`cas-lock ${cas.toFixed(1)} ns/op`);
  console.log(`futex-rtt ${rtt.toFixed(2)} us`);
  console.log(`async-rtt ${artt.toFixed(2)} us`);
} finally {
  seg.unmap();
  unlinkSegment(name);
}
