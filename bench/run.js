#!/usr/bin/env node
// Benchmark runner: runs every suite (bench/suites/*.js, plus bench/native.js
// when present), each in its own Node.js process, prints one table per suite
// (ours, each anchor, ours/anchor ratio, target) and writes all results to
// bench/results/latest.json.
//
//   node bench/run.js [--quick] [--only process,connection] [--list]
//                     [--out FILE] [--no-isolate]
//
// Build first (`npx tsc -p tsconfig.json`, or `npm run bench` which does both).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chartSvg } from './chart.js';

const SELF = fileURLToPath(import.meta.url);
const BENCH_DIR = path.dirname(SELF);
const SUITES_DIR = path.join(BENCH_DIR, 'suites');
const DEFAULT_OUT = path.join(BENCH_DIR, 'results', 'latest.json');

/**
 * Suite modules outside bench/suites/, included when the file exists. A file
 * that does not export a suite (a standalone script) is run as `node FILE` and
 * its `<metric> <number> <unit>` output lines become rows without anchors.
 */
const EXTRA_SUITES = [{ id: 'native', file: path.join(BENCH_DIR, 'native.js') }];

/** Print order; suites not listed come after, alphabetically. */
const ORDER = ['process', 'forkserver', 'connection', 'native', 'queues', 'pool', 'locks', 'synchronize', 'sharedctypes', 'managers'];

const SUITE_TIMEOUT_MS = { normal: 300_000, quick: 120_000 };

// ---- arguments ----------------------------------------------------------------------
function parseArgs(argv) {
  const args = { quick: false, only: null, list: false, out: DEFAULT_OUT, isolate: true, worker: null, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) args.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--list') args.list = true;
    else if (a === '--out' || a.startsWith('--out=')) args.out = path.resolve(value());
    else if (a === '--no-isolate') args.isolate = false;
    else if (a === '--worker') args.worker = argv[++i];
    else if (a === '--help' || a === '-h') args.help = true;
    else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return args;
}

const HELP = `usage: node bench/run.js [options]
  --quick            fewer iterations (each suite ≈ 15 s instead of ≈ 60 s)
  --only a,b         run only these suites (file name or exported name)
  --list             list the suites and exit
  --out FILE         where to write the JSON results (default bench/results/latest.json)
  --no-isolate       run suites in this process instead of one child process each
Ratios are ours / anchor: for times (ms, µs) lower is better, for rates (MB/s) higher is better.`;

// ---- discovery ----------------------------------------------------------------------
function discoverSuites() {
  const found = existsSync(SUITES_DIR)
    ? readdirSync(SUITES_DIR).filter((f) => f.endsWith('.js')).map((f) => ({ id: f.slice(0, -3), file: path.join(SUITES_DIR, f) }))
    : [];
  for (const extra of EXTRA_SUITES) {
    if (existsSync(extra.file) && !found.some((s) => s.id === extra.id)) found.push(extra);
  }
  const rank = (id) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);
  return found.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}

/** The suite object of a module: a default export, an export named `suite`, or the module's own `name`/`run`. */
function suiteOf(mod, id) {
  for (const candidate of [mod.default, mod.suite, mod]) {
    if (candidate && typeof candidate.run === 'function') {
      return { name: candidate.name ?? id, title: candidate.title ?? '', run: candidate.run.bind(candidate) };
    }
  }
  return null;
}

// ---- running one suite -------------------------------------------------------------
const log = (...a) => console.error(...a);

async function runSuiteHere(entry, quick) {
  const started = Date.now();
  let mod;
  try {
    mod = await import(pathToFileURL(entry.file).href);
  } catch (err) {
    return { id: entry.id, name: entry.id, error: `cannot import ${path.relative(BENCH_DIR, entry.file)}: ${errText(err)}`, durationMs: Date.now() - started };
  }
  const suite = suiteOf(mod, entry.id);
  if (!suite) {
    return { id: entry.id, name: entry.id, error: `${path.relative(BENCH_DIR, entry.file)} does not export a suite { name, run() }`, durationMs: Date.now() - started };
  }
  try {
    const rows = await suite.run({ quick, log });
    if (!Array.isArray(rows)) throw new Error('run() did not resolve to an array of rows');
    return { id: entry.id, name: suite.name, title: suite.title, rows, durationMs: Date.now() - started };
  } catch (err) {
    return { id: entry.id, name: suite.name, title: suite.title, error: `run() failed: ${errText(err)}`, stack: err?.stack, durationMs: Date.now() - started };
  }
}

/** Whether a module's source declares a suite export (else it is a standalone script). */
function declaresSuite(file) {
  let src;
  try {
    src = readFileSync(file, 'utf8');
  } catch {
    return true; // let the import report the problem
  }
  return /export\s+(async\s+)?function\s+run\b|export\s+(const|let|var)\s+(run|suite)\b|export\s+default\b|export\s*\{[^}]*\b(run|suite)\b[^}]*\}/.test(src);
}

const SCRIPT_LINE = /^\s*([A-Za-z][\w.:/-]*)\s+(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s+(\S+)\s*$/i;

/** Run a standalone benchmark script and turn its `<metric> <number> <unit>` lines into rows. */
function runScriptSuite(entry, quick) {
  const started = Date.now();
  const timeoutMs = quick ? SUITE_TIMEOUT_MS.quick : SUITE_TIMEOUT_MS.normal;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, entry.file], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_QUICK: quick ? '1' : '' },
    });
    let stdout = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const base = { id: entry.id, name: entry.id, title: `${path.relative(process.cwd(), entry.file)} (standalone script)`, durationMs: Date.now() - started };
      const rows = [];
      for (const line of stdout.split('\n')) {
        const m = SCRIPT_LINE.exec(line);
        if (!m) continue;
        const unit = m[3];
        rows.push({
          metric: m[1],
          unit,
          better: /\/s$/i.test(unit) ? 'higher' : 'lower',
          ours: { median: Number(m[2]), n: 1 },
          anchors: [],
          note: 'one number parsed from the script output (no p90): export { name, run } from the file to report samples and anchors',
        });
      }
      if (timedOut) resolve({ ...base, error: `timed out after ${timeoutMs / 1000} s`, rows });
      else if (code !== 0) resolve({ ...base, error: `exited with ${code ?? signal}`, rows });
      else if (rows.length === 0) resolve({ ...base, error: 'printed no `<metric> <number> <unit>` line' });
      else resolve({ ...base, rows });
    });
  });
}

function runSuiteIsolated(entry, quick) {
  const out = path.join(tmpdir(), `billiard-bench-${process.pid}-${entry.id}.json`);
  rmSync(out, { force: true });
  const args = [...process.execArgv, SELF, '--worker', entry.file, '--out', out];
  if (quick) args.push('--quick');
  const started = Date.now();
  const timeoutMs = quick ? SUITE_TIMEOUT_MS.quick : SUITE_TIMEOUT_MS.normal;
  return new Promise((resolve) => {
    // stdout stays the terminal's: children a suite starts may write there.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      let result;
      try {
        result = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : `worker exited with ${code ?? signal} before writing results`;
        result = { id: entry.id, name: entry.id, error: why, durationMs: Date.now() - started };
      }
      rmSync(out, { force: true });
      resolve(result);
    });
  });
}

async function workerMain(args) {
  const entry = { id: path.basename(args.worker, '.js'), file: path.resolve(args.worker) };
  const result = await runSuiteHere(entry, args.quick);
  writeFileSync(args.out, JSON.stringify(result));
  // Children or handles a suite left behind must not keep the worker alive.
  process.exit(0);
}

// ---- evaluation and tables ---------------------------------------------------------
const isStat = (s) => s && typeof s.median === 'number';

function ratioOf(row, anchor) {
  if (!isStat(row.ours) || !isStat(anchor) || anchor.median === 0) return null;
  return row.ours.median / anchor.median;
}

function verdict(ratio, better) {
  if (ratio === null) return '';
  const oursBetter = better === 'higher' ? ratio > 1 : ratio < 1;
  const factor = ratio >= 1 ? ratio : 1 / ratio;
  if (Math.abs(factor - 1) < 0.005) return 'same';
  return `${factor.toFixed(2)}× ${oursBetter ? 'faster' : 'slower'}`;
}

function evaluateTarget(row) {
  const t = row.target;
  if (!t) return null;
  if (!isStat(row.ours)) return { pass: false, text: `${t.label}: n/a (ours failed)` };
  if (t.anchor) {
    const anchor = (row.anchors ?? []).find((a) => a.name === t.anchor);
    const ratio = anchor ? ratioOf(row, anchor) : null;
    if (ratio === null) return { pass: null, anchor: t.anchor, text: `${t.label}: n/a (anchor missing)` };
    let pass = true;
    if (t.maxRatio !== undefined) pass &&= ratio <= t.maxRatio;
    if (t.minRatio !== undefined) pass &&= ratio >= t.minRatio;
    let detail = `${ratio.toFixed(2)}×`;
    // `alsoRate`: the rates (count / wall time, i.e. means) must meet the same bound, inverted.
    let rateRatio;
    if (t.alsoRate && row.ours.rate && anchor.rate) {
      rateRatio = row.ours.rate / anchor.rate;
      if (t.maxRatio !== undefined) pass &&= rateRatio >= 1 / t.maxRatio;
      if (t.minRatio !== undefined) pass &&= rateRatio <= 1 / t.minRatio;
      detail += `, rate ${rateRatio.toFixed(2)}×`;
    }
    return { pass, anchor: t.anchor, value: ratio, rateRatio, text: `${t.label}: ${pass ? 'PASS' : 'FAIL'} (${detail})` };
  }
  const v = row.ours.median;
  let pass = true;
  if (t.min !== undefined) pass &&= v >= t.min;
  if (t.max !== undefined) pass &&= v <= t.max;
  return { pass, value: v, text: `${t.label}: ${pass ? 'PASS' : 'FAIL'} (${fmt(v)} ${row.unit})` };
}

/** Add computed ratios and target results to the rows, for the JSON. */
function annotate(result) {
  for (const row of result.rows ?? []) {
    row.anchors ??= [];
    for (const a of row.anchors) {
      const r = ratioOf(row, a);
      if (r !== null) a.ratio = r;
    }
    const t = evaluateTarget(row);
    if (t) row.targetResult = t;
  }
  return result;
}

function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function failureText(s) {
  if (!s) return 'no result';
  if (s.missing) return s.missing;
  if (s.error) return `error: ${s.error}`;
  return 'no result';
}

function pad(s, w, right = false) {
  s = String(s);
  const len = [...s].length;
  if (len >= w) return s;
  return right ? ' '.repeat(w - len) + s : s + ' '.repeat(w - len);
}

function formatSuite(result) {
  const lines = [];
  const secs = (result.durationMs / 1000).toFixed(1);
  lines.push(`== ${result.name}${result.title ? ` — ${result.title}` : ''} (${secs} s)`);
  if (result.error) {
    lines.push(`   SUITE FAILED: ${result.error}`);
    return lines.join('\n');
  }
  const rows = result.rows ?? [];
  const labels = rows.flatMap((r) => ['ours (billiard)', ...(r.anchors ?? []).map((a) => a.name)]);
  const lw = Math.max(28, ...labels.map((l) => [...l].length)) + 2;
  for (const row of rows) {
    const t = evaluateTarget(row);
    const hasRate = [row.ours, ...(row.anchors ?? [])].some((s) => s && s.rate !== undefined);
    const n = isStat(row.ours) && row.ours.n ? `, n=${row.ours.n}` : '';
    lines.push('');
    lines.push(` ${row.metric}  [${row.unit}, ${row.better} is better${n}]`);
    lines.push(`   ${pad('', lw)}${pad('median', 9, true)}${pad('p90', 9, true)}${hasRate ? pad('rate', 14, true) : ''}${pad('ours/anchor', 13, true)}  ${pad('verdict', 14)}  target`.trimEnd());
    const statCells = (s) => {
      if (!isStat(s)) return null;
      const rate = hasRate ? pad(s.rate !== undefined ? `${fmt(s.rate)} ${s.rateUnit ?? '/s'}` : '', 14, true) : '';
      return `${pad(fmt(s.median), 9, true)}${pad(fmt(s.p90), 9, true)}${rate}`;
    };
    const oursCells = statCells(row.ours);
    let oursLine = `   ${pad('ours (billiard)', lw)}${oursCells ?? `FAILED — ${failureText(row.ours)}`}`;
    if (t && !t.anchor && oursCells) oursLine += `${pad('', 13)}  ${pad('', 14)}  ${t.text}`;
    lines.push(oursLine);
    for (const a of row.anchors ?? []) {
      const cells = statCells(a);
      if (!cells) {
        lines.push(`   ${pad(a.name, lw)}${failureText(a)}`);
        continue;
      }
      const ratio = ratioOf(row, a);
      let line = `   ${pad(a.name, lw)}${cells}${pad(ratio === null ? '' : ratio.toFixed(2), 13, true)}  ${pad(verdict(ratio, row.better), 14)}`;
      if (t && t.anchor === a.name) line += `  ${t.text}`;
      lines.push(line.trimEnd());
    }
    if (t && t.anchor && t.pass === null) lines.push(`   target ${t.text}`);
    if (row.note) lines.push(`   note: ${row.note}`);
  }
  lines.push('');
  lines.push('   ratio = ours / anchor (medians). Times: < 1 means ours is faster. Rates: > 1 means ours is faster. p90 is the slow tail.');
  return lines.join('\n');
}

// ---- main ---------------------------------------------------------------------------
async function metadata(quick) {
  let git = null;
  try {
    const head = readFileSync(path.join(BENCH_DIR, '..', '.git', 'HEAD'), 'utf8').trim();
    git = head.startsWith('ref:') ? readFileSync(path.join(BENCH_DIR, '..', '.git', head.slice(5).trim()), 'utf8').trim() : head;
  } catch { /* not a checkout */ }
  let python = null;
  try {
    const common = await import('./lib/common.js');
    python = await common.pythonVersions();
  } catch (err) {
    python = { error: errText(err) };
  }
  return {
    date: new Date().toISOString(),
    quick,
    argv: process.argv.slice(2),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    loadavg: loadavg(),
    git,
    python,
  };
}

function errText(err) {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args.worker) return workerMain(args);

  const all = discoverSuites();
  if (args.list) {
    for (const s of all) console.log(`${s.id}\t${path.relative(process.cwd(), s.file)}`);
    return;
  }
  let selected = all;
  if (args.only) {
    selected = all.filter((s) => args.only.includes(s.id));
    const unknown = args.only.filter((o) => !all.some((s) => s.id === o));
    if (unknown.length) {
      console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
      process.exit(2);
    }
  }
  if (!existsSync(path.join(BENCH_DIR, '..', 'dist', 'index.js'))) {
    console.error('dist/ is missing: build first (npx tsc -p tsconfig.json, or npm run bench)');
    process.exit(2);
  }

  const meta = await metadata(args.quick);
  const py = meta.python ?? {};
  console.log(`billiard bench — node ${meta.node}, ${meta.cpus} CPUs, python ${py.python ?? '?'} (${py.executable ?? '?'}), ` +
    `billiard ${py.billiard ?? 'not installed'}${args.quick ? ', --quick' : ''}`);
  console.log(`load average ${meta.loadavg.map((x) => x.toFixed(2)).join(' ')}; timings drift ±25% on this VM: compare within one run.\n`);

  const results = [];
  for (const entry of selected) {
    log(`[${entry.id}] running…`);
    let raw;
    if (!declaresSuite(entry.file)) raw = await runScriptSuite(entry, args.quick);
    else if (args.isolate) raw = await runSuiteIsolated(entry, args.quick);
    else raw = await runSuiteHere(entry, args.quick);
    const result = annotate(raw);
    results.push(result);
    console.log(formatSuite(result));
    console.log('');
  }

  const targets = results.flatMap((r) => (r.rows ?? []).filter((row) => row.targetResult).map((row) => ({ suite: r.name, metric: row.metric, ...row.targetResult })));
  if (targets.length) {
    console.log('== targets');
    for (const t of targets) {
      const mark = t.pass === true ? 'PASS' : t.pass === false ? 'FAIL' : 'n/a ';
      console.log(`   ${mark}  ${t.suite}: ${t.metric} — ${t.text}`);
    }
    console.log('');
  }

  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ meta, suites: results }, null, 2) + '\n');
  console.log(`results written to ${path.relative(process.cwd(), args.out) || args.out}`);
  // The chart the README shows: a run of every suite replaces it.
  const chart = args.only ? path.join(path.dirname(args.out), 'chart.svg') : path.join(BENCH_DIR, '..', 'docs', 'benchmarks.svg');
  mkdirSync(path.dirname(chart), { recursive: true });
  writeFileSync(chart, chartSvg({ meta, suites: results }));
  console.log(`chart written to ${path.relative(process.cwd(), chart)}`);
  const crashed = results.filter((r) => r.error);
  if (crashed.length) {
    console.error(`suite(s) failed: ${crashed.map((r) => r.name).join(', ')}`);
    process.exit(1);
  }
  process.exit(0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  main().catch((err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  });
}
