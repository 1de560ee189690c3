/**
 * billiard demo: `npm run demo` (= npm run build && tsx examples/demo.ts).
 *
 *  1. A CPU-bound workload (generate 4 MiB chunks of log text, deflate them at
 *     level 9, SHA-256 the output), first in this process, then over a Pool of
 *     cpuCount() workers, with a live progress bar and the speed-up.
 *  2. A job that reaches its soft time limit, notices (currentTask().signal /
 *     softTimeLimitExceeded()), cleans up and returns.
 *  3. A runaway job that reaches its hard time limit: TimeLimitExceeded, its
 *     worker is killed and replaced.
 *  4. Jobs that crash their worker (process.exit, SIGKILL): WorkerLostError,
 *     the worker is replaced.
 *  5. A summary table.
 */
import { Pool, cpuCount, type AsyncResult } from 'billiard';
import * as tasks from './demo-tasks.ts';

const TASKS_URL = new URL('./demo-tasks.ts', import.meta.url).href;
const CHUNKS = Number(process.env.DEMO_CHUNKS ?? 32);
const MB = 1e6;

// ---- terminal helpers (plain ANSI, no dependency) ---------------------------------
const tty = process.stdout.isTTY === true;
const color = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = color(1);
const dim = color(2);
const green = color(32);
const yellow = color(33);
const red = color(31);
const cyan = color(36);

function heading(title: string): void {
  console.log(`\n${bold(cyan(`▶ ${title}`))}`);
}

/** A progress bar redrawn in place with \r on a terminal; a few plain lines otherwise. */
class ProgressBar {
  #done = 0;
  #bytes = 0;
  #lastQuarter = -1;
  readonly #t0 = performance.now();
  constructor(private readonly label: string, private readonly total: number, private readonly width = 30) {
    this.#draw();
  }

  tick(bytes: number): void {
    this.#done++;
    this.#bytes += bytes;
    this.#draw();
  }

  #draw(): void {
    const frac = this.total ? this.#done / this.total : 1;
    const filled = Math.round(frac * this.width);
    const secs = (performance.now() - this.#t0) / 1000;
    const rate = secs > 0 ? this.#bytes / MB / secs : 0;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}`;
    const line = `  ${this.label.padEnd(12)} ${tty ? green(bar) : bar} ${String(this.#done).padStart(3)}/${this.total} chunks`
      + `  ${rate.toFixed(1).padStart(6)} MB/s  ${secs.toFixed(1).padStart(5)} s`;
    if (tty) {
      process.stdout.write(`\r\x1b[2K${line}`);
      if (this.#done === this.total) process.stdout.write('\n');
      return;
    }
    const quarter = Math.floor(frac * 4);
    if (quarter !== this.#lastQuarter) {
      this.#lastQuarter = quarter;
      console.log(line);
    }
  }
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
/** Wall clock in ms, the clock of the Pool's accept times (comparable between processes). */
const wallMs = () => performance.timeOrigin + performance.now();
const errName = (e: unknown) => (e instanceof Error ? e.name : typeof e);
const errMsg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));

/** Wait until `pid` has left the pool's worker list (it is replaced at once; its exit takes a moment). */
async function waitGone(pool: Pool, pid: number, limitMs = 3000): Promise<void> {
  const until = Date.now() + limitMs;
  while (pool.workerPids().includes(pid) && Date.now() < until) await sleep(20);
}

interface SummaryRow { step: string; outcome: string; detail: string; ok: boolean }
const summary: SummaryRow[] = [];

// ---- main ---------------------------------------------------------------------------
async function main(): Promise<void> {
  const n = cpuCount();
  console.log(bold('billiard demo') + dim(` — node ${process.version}, ${n} CPUs, pid ${process.pid}`));
  console.log(dim(`workload: ${CHUNKS} chunks × ${(tasks.CHUNK_BYTES / 2 ** 20).toFixed(0)} MiB of generated log text → deflate level 9 → SHA-256`));
  const seeds = Array.from({ length: CHUNKS }, (_, i) => i + 1);

  // 1a. sequential, in this process ---------------------------------------------------
  heading('1. CPU-bound work: one process vs a Pool');
  const seqBar = new ProgressBar('sequential', CHUNKS);
  const t0 = performance.now();
  const sequential: tasks.ChunkResult[] = [];
  for (const seed of seeds) {
    const r = tasks.compressChunk(seed);
    sequential.push(r);
    seqBar.tick(r.inBytes);
  }
  const seqMs = performance.now() - t0;

  // 1b. the same work over a Pool ---------------------------------------------------
  const tStart = performance.now();
  const pool = new Pool({ processes: n, modules: [TASKS_URL] });
  await Promise.all(Array.from({ length: n * 2 }, () => pool.apply(tasks.whoami))); // workers booted
  const startMs = performance.now() - tStart;
  const poolBar = new ProgressBar(`Pool(${n})`, CHUNKS);
  const t1 = performance.now();
  const parallel: tasks.ChunkResult[] = [];
  for await (const r of pool.imapUnordered(tasks.compressChunk, seeds, 1)) {
    parallel.push(r);
    poolBar.tick(r.inBytes);
  }
  const poolMs = performance.now() - t1;
  parallel.sort((a, b) => a.seed - b.seed);
  const same = parallel.every((r, i) => r.sha256 === sequential[i]!.sha256 && r.outBytes === sequential[i]!.outBytes);
  const workersUsed = new Set(parallel.map((r) => r.pid)).size;
  const speedup = seqMs / poolMs;
  const totalIn = sequential.reduce((s, r) => s + r.inBytes, 0);
  const totalOut = sequential.reduce((s, r) => s + r.outBytes, 0);
  console.log(`  ${(totalIn / MB).toFixed(0)} MB → ${(totalOut / MB).toFixed(1)} MB deflated; digests ${same ? green('identical ✓') : red('DIFFER ✗')}; `
    + `${workersUsed} worker pids used; pool start ${ms(startMs)} (not counted)`);
  console.log(`  sequential ${ms(seqMs)}, Pool ${ms(poolMs)} → ${bold(`speed-up ${speedup.toFixed(2)}×`)} on ${n} CPUs`);
  summary.push({ step: `deflate+sha256 ${CHUNKS}×4 MiB`, outcome: `speed-up ${speedup.toFixed(2)}×`, detail: `${ms(seqMs)} → ${ms(poolMs)} with ${n} workers`, ok: same && speedup > 1 });

  // 2. soft time limit ---------------------------------------------------------------
  heading('2. Soft time limit: the job notices, cleans up and returns');
  {
    const softMs = 400;
    const hardMs = 3000;
    console.log(dim(`  indexWithDeadline() wants 5 s; softTimeout ${softMs} ms, timeout ${hardMs} ms`));
    let timedOut = '';
    const t = performance.now();
    const res = pool.applyAsync(tasks.indexWithDeadline, [7, 5000], {
      softTimeout: softMs,
      timeout: hardMs,
      timeoutCallback: ({ soft, timeout }) => { timedOut = `${soft ? 'soft' : 'hard'} ${timeout} ms`; },
    });
    const r = await res.get();
    const took = performance.now() - t;
    const at = (x: number | null) => (x === null ? 'not seen' : `${x.toFixed(1)} ms`);
    console.log(`  pid ${r.pid}: stopped after ${r.blocks} blocks; noticed first via ${bold(r.detectedBy)}`);
    console.log(`  softTimeLimitExceeded() true at ${at(r.pollSawMs)}, signal 'abort' at ${at(r.signalFiredMs)} (job time)`);
    console.log(`  signal.reason = ${yellow(r.abortReason)}; parent's timeoutCallback: ${timedOut || '(none)'}`);
    console.log(`  temp file ${dim(r.tmpFile)} removed: ${r.cleanedUp ? green('yes ✓') : red('no ✗')}; result back after ${ms(took)}`);
    const stoppedAt = r.detectedBy === 'signal' ? r.signalFiredMs : r.pollSawMs;
    summary.push({ step: `soft limit ${softMs} ms`, outcome: 'returned, cleaned up', detail: `stopped at ${at(stoppedAt)} via ${r.detectedBy}`, ok: r.cleanedUp && r.ranMs < hardMs });
  }

  // 3. hard time limit ----------------------------------------------------------------
  heading('3. Hard time limit: TimeLimitExceeded, worker killed and replaced');
  {
    const hardMs = 300;
    const before = pool.workerPids();
    let acceptedBy = 0;
    let acceptedAt = wallMs();
    const res: AsyncResult<never> = pool.applyAsync(tasks.runaway, [], {
      timeout: hardMs,
      acceptCallback: (pid, time) => { acceptedBy = pid; acceptedAt = time; },
    });
    let outcome = 'returned?!';
    let ok = false;
    try {
      await res.get();
    } catch (e) {
      const took = wallMs() - acceptedAt;
      outcome = `${errName(e)} after ${ms(took)}`;
      ok = errName(e) === 'TimeLimitExceeded';
      console.log(`  runaway() on pid ${acceptedBy}: ${red(errName(e))}: ${errMsg(e)} — after ${ms(took)} (limit ${hardMs} ms, counted from the job's start)`);
    }
    await waitGone(pool, acceptedBy);
    const after = pool.workerPids();
    const added = after.filter((p) => !before.includes(p));
    console.log(`  workers before [${before.join(', ')}] → after [${after.join(', ')}]: ${acceptedBy} killed, replaced by ${green(added.join(', ') || '?')}`);
    const check = await pool.apply(tasks.whoami);
    console.log(dim(`  the pool keeps working: next job ran on pid ${check}`));
    summary.push({ step: `hard limit ${hardMs} ms`, outcome, detail: `pid ${acceptedBy} → ${added.join(', ') || '?'}`, ok: ok && added.length > 0 });
  }

  // 4. crashing workers -----------------------------------------------------------------
  heading('4. A worker crashes: WorkerLostError, worker replaced');
  for (const how of ['exit', 'sigkill'] as const) {
    const before = pool.workerPids();
    let acceptedBy = 0;
    let acceptedAt = wallMs();
    const res = pool.applyAsync(tasks.crash, [how], { acceptCallback: (pid, time) => { acceptedBy = pid; acceptedAt = time; } });
    let outcome = 'returned?!';
    let ok = false;
    try {
      await res.get();
    } catch (e) {
      const took = wallMs() - acceptedAt;
      outcome = `${errName(e)} after ${ms(took)}`;
      ok = errName(e) === 'WorkerLostError';
      console.log(`  crash('${how}') on pid ${acceptedBy}: ${red(errName(e))}: ${errMsg(e)} — ${ms(took)} after the job started`);
    }
    await waitGone(pool, acceptedBy);
    const after = pool.workerPids();
    const added = after.filter((p) => !before.includes(p));
    console.log(`  workers before [${before.join(', ')}] → after [${after.join(', ')}]: replaced by ${green(added.join(', ') || '?')}`);
    summary.push({ step: how === 'exit' ? 'process.exit(3) in a job' : "process.kill(pid, 'SIGKILL')", outcome, detail: `pid ${acceptedBy} → ${added.join(', ') || '?'}`, ok: ok && added.length > 0 });
  }

  // Still healthy: a last small map.
  const check = await pool.map(tasks.whoami, [1, 2, 3, 4], 1);
  pool.close();
  await pool.join();
  console.log(dim(`\n  after all that, map() still ran on pids [${[...new Set(check)].join(', ')}]; pool closed and joined`));

  // 5. summary ------------------------------------------------------------------------
  heading('Summary');
  const cols = [
    Math.max(4, ...summary.map((r) => r.step.length)),
    Math.max(7, ...summary.map((r) => r.outcome.length)),
    Math.max(6, ...summary.map((r) => r.detail.length)),
  ];
  const line = (a: string, b: string, c: string, d: string) => `  │ ${a.padEnd(cols[0]!)} │ ${b.padEnd(cols[1]!)} │ ${c.padEnd(cols[2]!)} │ ${d} │`;
  const rule = (l: string, m: string, r: string) => `  ${l}${'─'.repeat(cols[0]! + 2)}${m}${'─'.repeat(cols[1]! + 2)}${m}${'─'.repeat(cols[2]! + 2)}${m}────${r}`;
  console.log(rule('┌', '┬', '┐'));
  console.log(line('step', 'outcome', 'detail', 'ok'));
  console.log(rule('├', '┼', '┤'));
  for (const r of summary) console.log(line(r.step, r.outcome, r.detail, r.ok ? green('✓ ') : red('✗ ')));
  console.log(rule('└', '┴', '┘'));
  const allOk = summary.every((r) => r.ok);
  console.log(allOk ? green('  all good') : red('  something went wrong (see ✗ above)'));
  process.exitCode = allOk ? 0 : 1;
}

main().catch((err) => {
  console.error(red(`demo failed: ${err instanceof Error ? err.stack : String(err)}`));
  process.exit(1);
});
