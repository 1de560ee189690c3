// Suite `connection`: Connection ping-pong latency (16-byte payloads, a child
// echoes) and one-way 1 MiB throughput to a child, side by side with Python's
// multiprocessing/billiard Pipe. Targets: ping-pong no slower than Python's
// Pipe; 1 MiB transfers at ≥ 1 GB/s (1 GB = 1e9 bytes).
import { Pipe, Process } from 'billiard';
import {
  FIXTURES_URL, PY_LIBS, defaultOpts, interleave, nowNs, pythonLibMissing, runPython, statOf, withTimeout,
} from '../lib/common.js';

export const name = 'connection';
export const title = 'Connection ping-pong and 1 MiB throughput';

const tasks = await import(FIXTURES_URL);
const PAYLOAD = 16;
const MIB = 1 << 20;

/** Start a child running `target(conn, ...args)` on the other end of a Pipe. */
async function startPeer(target, args = []) {
  const [mine, theirs] = Pipe();
  const p = new Process({ target, args: [theirs, ...args], modules: [FIXTURES_URL] });
  p.start();
  theirs.close(); // the child has its own copy
  // WORKAROUND (src bug, reported): start() queues the child's boot message on the
  // control channel and writes it on setImmediate, so a blocking call made right
  // after start() (recvSync) deadlocks: the child never gets its boot message.
  // Let the event loop turn once so the boot message is written.
  await new Promise((resolve) => setImmediate(resolve));
  return { conn: mine, proc: p };
}

/** A blocking receive that fails instead of hanging when nothing comes within `ms`. */
function guardSync(conn, ms, what) {
  if (!conn.pollSync(ms)) throw new Error(`${what}: nothing received within ${ms} ms`);
}

async function stopPeer({ conn, proc }, stopMessage) {
  stopMessage(conn);
  await conn.drain();
  await withTimeout(proc.join(), 30_000, 'Process.join');
  conn.close();
  if (proc.exitcode !== 0) throw new Error(`echo child exited with ${proc.exitcode}`);
  proc.close();
}

// ---- ping-pong ------------------------------------------------------------------
/**
 * mode 'sync': both ends block (parent send + recvSync, child recvSync/send);
 * mode 'async': both ends await recv. api 'obj': send/recv of a 16-byte Buffer
 * (serialized); 'bytes': sendBytes/recvBytes.
 */
async function oursPingPong(mode, api, count, warmup, acc) {
  const target = api === 'obj'
    ? (mode === 'sync' ? tasks.echoSync : tasks.echoAsync)
    : (mode === 'sync' ? tasks.echoBytesSync : tasks.echoBytesAsync);
  const peer = await startPeer(target);
  const { conn } = peer;
  const payload = Buffer.alloc(PAYLOAD, 0x78);
  let rt;
  if (api === 'obj') {
    rt = mode === 'sync'
      ? () => { conn.send(payload); return conn.recvSync(); }
      : async () => { conn.send(payload); return conn.recv(); };
  } else {
    rt = mode === 'sync'
      ? () => { conn.sendBytes(payload); return conn.recvBytesSync(); }
      : async () => { conn.sendBytes(payload); return conn.recvBytes(); };
  }
  const samples = new Array(count);
  try {
    // The first round trip also waits for the child to boot.
    if (mode === 'async') {
      await withTimeout(rt(), 30_000, 'first round trip');
    } else {
      if (api === 'obj') conn.send(payload); else conn.sendBytes(payload);
      guardSync(conn, 30_000, 'first round trip');
      if (api === 'obj') conn.recvSync(); else conn.recvBytesSync();
    }
    for (let i = 0; i < warmup; i++) await rt();
    let last;
    const start = nowNs();
    if (mode === 'sync') {
      for (let i = 0; i < count; i++) {
        const t0 = nowNs();
        last = rt();
        samples[i] = Number(nowNs() - t0) / 1e3;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const t0 = nowNs();
        last = await rt();
        samples[i] = Number(nowNs() - t0) / 1e3;
      }
    }
    acc.seconds += Number(nowNs() - start) / 1e9;
    acc.count += count;
    if (!Buffer.isBuffer(last) || !last.equals(payload)) throw new Error(`echo mismatch: got ${describe(last)}`);
  } finally {
    await stopPeer(peer, (c) => (api === 'obj' ? c.send(null) : c.sendBytes(Buffer.alloc(0))));
  }
  return samples;
}

function describe(v) {
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  return typeof v === 'object' ? `${v?.constructor?.name ?? 'null'}` : typeof v;
}

// ---- throughput -----------------------------------------------------------------
/**
 * One sample = one batch: send the count, `batch` 1 MiB messages (sendBytes,
 * or send({ data }) for api 'obj'), then await the child's byte-count ack. MB/s.
 */
async function oursThroughput(mode, api, batch, batches, warmupBatches) {
  const peer = await startPeer(mode === 'sync' ? tasks.sinkSync : tasks.sinkAsync, [api]);
  const { conn } = peer;
  const buf = Buffer.allocUnsafe(MIB);
  for (let i = 0; i < MIB; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 0, i);
  const once = async () => {
    const t0 = nowNs();
    conn.send(batch);
    if (api === 'bytes') for (let i = 0; i < batch; i++) conn.sendBytes(buf);
    else for (let i = 0; i < batch; i++) conn.send({ data: buf });
    const got = await withTimeout(conn.recv(), 60_000, 'throughput ack');
    const s = Number(nowNs() - t0) / 1e9;
    if (got !== batch * MIB) throw new Error(`child received ${got} bytes, expected ${batch * MIB}`);
    return (batch * MIB) / 1e6 / s;
  };
  const samples = [];
  try {
    for (let i = 0; i < warmupBatches; i++) await once();
    for (let i = 0; i < batches; i++) samples.push(await once());
  } finally {
    await stopPeer(peer, (c) => c.send(null));
  }
  return samples;
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const missingBilliard = await pythonLibMissing('billiard');
  const pyFailure = (lib) => (lib === 'billiard' ? missingBilliard : null);
  const rows = [];

  // ---- ping-pong
  {
    const rounds = quick ? 2 : 3;
    const count = quick ? 1500 : 4000;
    const warmup = quick ? 2000 : 5000; // JIT tier-up makes ms-scale stalls in the first few thousand round trips
    const acc = {};
    const variants = [];
    for (const api of ['obj', 'bytes']) {
      for (const mode of ['sync', 'async']) {
        const key = `ours ${mode} ${api}`;
        acc[key] = { seconds: 0, count: 0 };
        variants.push({ key, chunk: () => oursPingPong(mode, api, count, warmup, acc[key]) });
      }
      for (const { lib, label } of PY_LIBS) {
        const key = `${label} ${api}`;
        acc[key] = { seconds: 0, count: 0 };
        variants.push({
          key,
          chunk: async () => {
            const missing = pyFailure(lib);
            if (missing) return missing;
            const res = await runPython('pipe_pingpong.py', [
              '--lib', lib, '--api', api, '--count', count, '--warmup', warmup, '--payload', PAYLOAD,
            ]);
            if (!res.samples) return res;
            acc[key].seconds += res.total_s;
            acc[key].count += res.count;
            return res.samples;
          },
        });
      }
    }
    log(`  ping-pong: ${rounds} rounds × ${count} round trips per variant`);
    const { samples } = await interleave(variants, rounds, log);
    const stat = (key) => {
      const s = statOf(samples[key], 'lower');
      if (s.median !== undefined && acc[key].seconds > 0) {
        s.rate = acc[key].count / acc[key].seconds;
        s.rateUnit = 'rt/s';
      }
      return s;
    };
    const apiText = { obj: 'send/recv', bytes: 'sendBytes/recvBytes' };
    const modeText = { sync: 'sync (recvSync, both ends)', async: 'async (await recv, both ends)' };
    for (const api of ['obj', 'bytes']) {
      for (const mode of ['sync', 'async']) {
        rows.push({
          metric: `ping-pong 16 B ${apiText[api]}, ${modeText[mode]}`,
          unit: 'µs/rt',
          better: 'lower',
          ours: stat(`ours ${mode} ${api}`),
          anchors: PY_LIBS.map(({ label }) => ({
            name: `${label} Pipe ${api === 'obj' ? 'send/recv' : 'send_bytes/recv_bytes'}`,
            ...stat(`${label} ${api}`),
          })),
          target: {
            anchor: `py multiprocessing Pipe ${api === 'obj' ? 'send/recv' : 'send_bytes/recv_bytes'}`,
            maxRatio: 1.0,
            alsoRate: true,
            label: '≤ 1.00× Python Pipe, median and rate',
          },
          note: 'median/p90 of single round trips; rate = round trips / wall time (the mean). Round trips are bimodal here '
            + '(peers on one vCPU vs on both), so the median can flip between runs: the target needs median and rate. '
            + 'Python child is forked, ours spawned (steady state only).',
        });
      }
    }
  }

  // ---- throughput
  {
    const rounds = quick ? 2 : 3;
    const batch = quick ? 16 : 32;
    const batches = quick ? 2 : 4;
    const variants = [];
    for (const api of ['bytes', 'obj']) {
      for (const mode of ['sync', 'async']) {
        variants.push({ key: `ours ${mode} ${api}`, chunk: () => oursThroughput(mode, api, batch, batches, 1) });
      }
      for (const { lib, label } of PY_LIBS) {
        variants.push({
          key: `${label} ${api}`,
          chunk: async () => {
            const missing = pyFailure(lib);
            if (missing) return missing;
            const res = await runPython('pipe_throughput.py', [
              '--lib', lib, '--api', api, '--size', MIB, '--batch', batch, '--batches', batches, '--warmup', 1,
            ]);
            return res.samples ? res.samples : res;
          },
        });
      }
    }
    log(`  throughput: ${rounds} rounds × ${batches} batches of ${batch} MiB per variant`);
    const { samples } = await interleave(variants, rounds, log);
    const stat = (key) => statOf(samples[key], 'higher');
    const pyBytes = (label) => ({ name: `${label} send_bytes/recv_bytes`, ...stat(`${label} bytes`) });
    const pyObj = (label) => ({ name: `${label} send({data})/recv`, ...stat(`${label} obj`) });
    for (const mode of ['sync', 'async']) {
      const childText = mode === 'sync' ? 'child recv*Sync' : 'child await recv*';
      rows.push({
        metric: `1 MiB one-way sendBytes/recvBytes, ${childText}`,
        unit: 'MB/s',
        better: 'higher',
        ours: stat(`ours ${mode} bytes`),
        anchors: PY_LIBS.map(({ label }) => pyBytes(label)),
        target: { min: 1000, label: '≥ 1000 MB/s' },
      });
      rows.push({
        metric: `1 MiB one-way send({ data: Buffer }), ${childText}`,
        unit: 'MB/s',
        better: 'higher',
        ours: stat(`ours ${mode} obj`),
        anchors: [...PY_LIBS.map(({ label }) => pyObj(label)), pyBytes(PY_LIBS[0].label)],
        target: { min: 1000, label: '≥ 1000 MB/s' },
      });
    }
  }
  return rows;
}
