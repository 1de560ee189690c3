// Shared helpers for bench suites: statistics, timing, Python anchors, row building.
//
// A suite is a module exporting `{ name, title?, run(opts) }` (named exports or a
// default export). `run(opts)` resolves to an array of Rows (see README.md):
//
//   {
//     metric: 'start→join (spawn)',      // what is measured, our variant included
//     unit: 'ms',                        // unit of median/p90
//     better: 'lower' | 'higher',        // which direction is better for this unit
//     ours: Stat | Failure,
//     anchors: Array<Stat & { name } | Failure & { name }>,
//     target?: { anchor?: string, maxRatio?: number, minRatio?: number,
//                min?: number, max?: number, label: string },
//     note?: string,
//   }
//   Stat    = { median, p90, n, mean?, rate?, rateUnit? }   p90 is always the slow tail
//   Failure = { error: string } | { missing: string }       (anchor not installed etc.)
//
// `opts` = { quick: boolean, log(...args) } — suites scale iterations with `opts.quick`.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const PYTHON_DIR = path.join(BENCH_DIR, 'python');
export const FIXTURES_URL = new URL('../fixtures/tasks.js', import.meta.url).href;
// Debian's python3 (where `apt-get install python3-billiard` puts billiard), unless
// BENCH_PYTHON says otherwise; a python3 on PATH (pyenv …) is the fallback.
export const PYTHON = process.env.BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

// ---- statistics -------------------------------------------------------------------
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Median and slow-tail p90 of `samples`. For 'lower is better' units (times) the
 * p90 is the 90th percentile; for 'higher is better' units (rates) it is the 10th
 * percentile, i.e. the rate at the 90th percentile of time. Either way: the slow tail.
 */
export function summarize(samples, better = 'lower') {
  const values = Array.from(samples).filter((x) => Number.isFinite(x));
  if (values.length === 0) return { error: 'no samples' };
  const sorted = values.sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return {
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, better === 'lower' ? 0.9 : 0.1),
    n: sorted.length,
    mean,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

export const nowNs = () => process.hrtime.bigint();
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Rotate an array by `k` (used to vary the order of variants between rounds). */
export function rotate(list, k) {
  const n = list.length;
  if (n === 0) return [];
  const s = ((k % n) + n) % n;
  return [...list.slice(s), ...list.slice(0, s)];
}

/**
 * Run `variants` (each `{ key, chunk(roundIndex) => Promise<number[]> }`) in
 * `rounds` interleaved rounds, rotating the order each round, so slow drift of
 * this shared VM hits every variant alike. Returns { key: samples | Failure }.
 * A variant that throws or returns a Failure is not retried in later rounds.
 */
export async function interleave(variants, rounds, log = () => {}) {
  const out = Object.fromEntries(variants.map((v) => [v.key, []]));
  const extra = Object.fromEntries(variants.map((v) => [v.key, {}]));
  for (let r = 0; r < rounds; r++) {
    for (const v of rotate(variants, r)) {
      if (!Array.isArray(out[v.key])) continue; // failed or missing earlier
      try {
        const res = await v.chunk(r);
        if (res && !Array.isArray(res) && (res.error || res.missing)) {
          out[v.key] = res;
          continue;
        }
        const samples = Array.isArray(res) ? res : res.samples;
        if (!Array.isArray(res)) Object.assign(extra[v.key], res.extra ?? {});
        out[v.key].push(...samples);
      } catch (err) {
        out[v.key] = { error: errorText(err) };
        log(`  ${v.key}: ${out[v.key].error}`);
      }
    }
  }
  return { samples: out, extra };
}

export function errorText(err) {
  if (err instanceof Error) {
    const code = err.code ? ` [${err.code}]` : '';
    return `${err.name}: ${err.message}${code}`.split('\n')[0].slice(0, 300);
  }
  return String(err).slice(0, 300);
}

/** Stat from samples, or the failure as is. */
export function statOf(samplesOrFailure, better) {
  if (!Array.isArray(samplesOrFailure)) return samplesOrFailure ?? { error: 'no result' };
  return summarize(samplesOrFailure, better);
}

/** Rejects after `ms` with a timeout error, so a hung child fails one variant, not the run. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- Python anchors --------------------------------------------------------------
/**
 * Run `bench/python/<script>` with `args`; resolves to its JSON (last stdout line).
 * A script reports a missing library as `{"missing": "billiard: not installed"}`.
 */
export function runPython(script, args = [], { timeoutMs = 120_000 } = {}) {
  const file = path.join(PYTHON_DIR, script);
  if (!existsSync(file)) return Promise.resolve({ error: `${script} not found` });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(PYTHON, [file, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: PYTHON_DIR });
    } catch (err) {
      resolve({ error: `cannot run ${PYTHON}: ${errorText(err)}` });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ error: `cannot run ${PYTHON}: ${errorText(err)}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last);
        if (code !== 0 && !parsed.error && !parsed.missing) parsed.error = `exit ${code ?? signal}`;
        resolve(parsed);
      } catch {
        const why = signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit ${code ?? signal}`;
        const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
        resolve({ error: `${script} ${why}${tail ? `: ${tail.slice(0, 200)}` : ''}` });
      }
    });
  });
}

const libCache = new Map();
/** Resolves to null when `python3 -c 'import <lib>'` works, else the Failure to show. */
export function pythonLibMissing(lib) {
  if (!libCache.has(lib)) {
    libCache.set(lib, runPython('probe.py', [lib], { timeoutMs: 30_000 }).then((r) => {
      if (r.ok) return null;
      return r.missing ? { missing: r.missing } : { error: r.error ?? `cannot import ${lib}` };
    }));
  }
  return libCache.get(lib);
}

/** Python library versions for the results' metadata. */
export async function pythonVersions() {
  const r = await runPython('probe.py', ['--versions'], { timeoutMs: 30_000 });
  return r.error ? { error: r.error } : r;
}

/** The anchor labels used across suites. */
export const PY_LIBS = [
  { lib: 'multiprocessing', label: 'py multiprocessing' },
  { lib: 'billiard', label: 'py billiard' },
];

/** Options every suite gets when run standalone (`node bench/suites/x.js`). */
export function defaultOpts() {
  return {
    quick: process.argv.includes('--quick'),
    log: (...a) => console.error(...a),
  };
}

/** One Process start() → join() of `target`, in ms; `ProcessClass` picks the start method. */
export async function startJoinMs(ProcessClass, target, modules) {
  const t0 = nowNs();
  const p = new ProcessClass({ target, args: [], modules });
  p.start();
  await withTimeout(p.join(), 30_000, 'Process.join');
  const ms = msSince(t0);
  if (p.exitcode !== 0) throw new Error(`child exited with ${p.exitcode}`);
  p.close();
  return ms;
}
