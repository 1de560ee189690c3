/**
 * Task functions for examples/demo.ts. Pool workers import this module
 * (the demo passes `modules: [new URL('./demo-tasks.ts', import.meta.url).href]`),
 * so it has no side effects at import time.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { currentTask } from 'billiard';

/** Size of one work chunk. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

const WORDS = [
  'GET', 'POST', '/api/v1/orders', '/api/v1/users', '/static/app.js', '200', '201', '304', '404', '500',
  'user=', 'session=', 'latency_ms=', 'region=eu-west-1', 'region=us-east-2', 'cache=hit', 'cache=miss',
  'Mozilla/5.0', 'curl/8.5.0', 'okhttp/4.12', 'trace=', 'span=', 'retry=0', 'retry=1', 'bytes=',
];

/** Deterministic pseudo-random "access log" text of `bytes` bytes (compressible, not trivially). */
export function generateChunk(seed: number, bytes = CHUNK_BYTES): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  let pos = 0;
  while (pos < bytes) {
    const r = next();
    const word = (r & 7) === 0 ? String(r % 1_000_000) : WORDS[r % WORDS.length]!;
    pos += buf.write(word, pos, 'latin1');
    if (pos < bytes) buf[pos++] = (r & 0xf00) === 0 ? 0x0a : 0x20;
  }
  return buf;
}

export interface ChunkResult {
  seed: number;
  inBytes: number;
  outBytes: number;
  sha256: string;
  pid: number;
}

/** The CPU-bound unit of work: generate a chunk, deflate it (level 9), SHA-256 the result. */
export function compressChunk(seed: number): ChunkResult {
  const data = generateChunk(seed);
  const packed = deflateSync(data, { level: 9 });
  const sha256 = createHash('sha256').update(packed).digest('hex');
  return { seed, inBytes: data.length, outBytes: packed.length, sha256, pid: process.pid };
}

/** The worker's pid. */
export function whoami(): number {
  return process.pid;
}

export interface SoftResult {
  pid: number;
  blocks: number;
  /** Which check stopped the loop first. */
  detectedBy: 'signal' | 'softTimeLimitExceeded()';
  /** ms since the job started when softTimeLimitExceeded() first returned true (null: not seen). */
  pollSawMs: number | null;
  /** ms since the job started when the signal's 'abort' event fired (null: not within 200 ms). */
  signalFiredMs: number | null;
  abortReason: string;
  tmpFile: string;
  cleanedUp: boolean;
  ranMs: number;
}

/**
 * A job that would run for `wantMs`: it compresses 256 KiB blocks into a temp
 * file. It watches its soft limit two ways — currentTask().signal ('abort'
 * event, fires between blocks because the loop yields) and
 * currentTask().softTimeLimitExceeded() (exact, checked after every block) —
 * and when the limit passes it stops, deletes its temp file and returns what
 * it did instead of being killed at the hard limit.
 */
export async function indexWithDeadline(seed: number, wantMs: number): Promise<SoftResult> {
  const task = currentTask();
  const started = performance.now();
  const since = () => performance.now() - started;
  const dir = mkdtempSync(path.join(tmpdir(), 'billiard-demo-'));
  const tmpFile = path.join(dir, 'partial.idx');
  writeFileSync(tmpFile, '');
  let signalFiredMs: number | null = null;
  let pollSawMs: number | null = null;
  const aborted = new Promise<void>((resolve) => {
    task.signal.addEventListener('abort', () => { signalFiredMs = since(); resolve(); }, { once: true });
  });
  let detectedBy: SoftResult['detectedBy'] | null = null;
  let blocks = 0;
  try {
    while (since() < wantMs) {
      const block = generateChunk(seed + blocks, 256 * 1024);
      appendFileSync(tmpFile, deflateSync(block, { level: 6 }).subarray(0, 64));
      blocks++;
      if (task.softTimeLimitExceeded()) { pollSawMs = since(); detectedBy = 'softTimeLimitExceeded()'; break; }
      await new Promise((resolve) => setImmediate(resolve)); // let the signal's 'abort' event run
      if (signalFiredMs !== null) { detectedBy = 'signal'; break; }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true }); // clean up, limit or not
  }
  // For the record: when did the other mechanism see the limit?
  if (signalFiredMs === null) await Promise.race([aborted, new Promise((resolve) => setTimeout(resolve, 200))]);
  if (pollSawMs === null && task.softTimeLimitExceeded()) pollSawMs = since();
  const reason = task.signal.reason as Error | undefined;
  return {
    pid: process.pid,
    blocks,
    detectedBy: detectedBy ?? 'softTimeLimitExceeded()',
    pollSawMs,
    signalFiredMs,
    abortReason: reason ? `${reason.name}: ${reason.message}` : '(not aborted)',
    tmpFile,
    cleanedUp: !existsSync(tmpFile),
    ranMs: since(),
  };
}

/** A runaway job: a synchronous loop that never ends (only the hard limit stops it). */
export function runaway(): never {
  let h = 0;
  for (;;) h = (h * 31 + 7) | 0;
}

/** A job that crashes its worker: exit(3), or SIGKILL itself. */
export function crash(how: 'exit' | 'sigkill'): void {
  if (how === 'exit') process.exit(3);
  process.kill(process.pid, 'SIGKILL');
  const until = Date.now() + 10_000;
  while (Date.now() < until) { /* the signal is on its way */ }
}
