// Shared helpers of the chaos scenarios (not a scenario itself).
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHORT = process.argv.includes('--short');
export const TASKS = new URL('./tasks.js', import.meta.url).href;

/** Print the one JSON result line and exit (non-zero unless ok). */
export function finish(name, ok, figures = {}, notes = []) {
  process.stdout.write(`${JSON.stringify({ scenario: name, ok, ...figures, notes })}\n`);
  process.exitCode = ok ? 0 : 1;
}

/** Run a scenario body; an exception is a failure with its message. A watchdog bounds the run. */
const aborts = [];
/** Cleanup to run if the watchdog fires (kill what we started outside the library). */
export const onAbort = (fn) => aborts.push(fn);

export async function scenario(name, limitMs, body) {
  const watchdog = setTimeout(() => {
    for (const fn of aborts) { try { fn(); } catch {} }
    finish(name, false, { hang: true }, [`watchdog: no result after ${limitMs} ms`]);
    process.exit(1);
  }, limitMs);
  watchdog.unref();
  try {
    const r = await body();
    clearTimeout(watchdog);
    finish(name, r.ok, r.figures, r.notes);
  } catch (err) {
    clearTimeout(watchdog);
    finish(name, false, {}, [`threw: ${err && err.stack || err}`]);
  }
}

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Every live (non-zombie) process of the machine: pid → ppid. */
export function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = stat(Number(name));
    if (st) table.set(Number(name), st);
  }
  return table;
}

/** Children of `pid` (zombies included: an unreaped child is a leak too). */
export function childrenOf(pid = process.pid) {
  const out = [];
  for (const [p, st] of processTable()) if (st.ppid === pid) out.push({ pid: p, state: st.state });
  return out;
}

/** All descendants of `pid`, live ones. */
export function descendantsOf(pid) {
  const table = processTable();
  const out = new Set();
  let frontier = [pid];
  while (frontier.length) {
    const next = [];
    for (const [p, st] of table) if (frontier.includes(st.ppid) && !out.has(p)) { out.add(p); next.push(p); }
    frontier = next;
  }
  return [...out];
}

export const alive = (pid) => { const st = stat(pid); return st !== undefined && st.state !== 'Z'; };

/** Start time of a process (clock ticks since boot), or null when it is gone. */
export function startTimeOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

// A billiard process tree is named by its root (BILLIARD_TREE=<pid>:<start time>): its processes
// carry that variable, and its resource-tracker logs (registry directory) list every segment it
// made. The runner checks a scenario's own tree, not the machine: other work running at the same
// time (a parallel test file, another user) makes and removes segments and processes too.

/** Add to `into` every segment name tree root:start has registered (from its registry logs). */
export function treeSegments(root, start, into = new Set()) {
  const dir = join(tmpdir(), `billiard-${root}-${start}`);
  let files = [];
  try { files = readdirSync(dir); } catch { return into; }
  for (const f of files) {
    if (!f.endsWith('.log')) continue;
    let text = '';
    try { text = readFileSync(join(dir, f), 'utf8'); } catch { continue; }
    for (const line of text.split('\n')) if (line[0] === '+' && line[1] !== '@' && line.length > 1) into.add(line.slice(1));
  }
  return into;
}

export const shmExists = (name) => existsSync(`/dev/shm/${name}`);

/** Live (non-zombie) processes whose environment names tree root:start. */
export function treeMembers(root, start) {
  const tag = `BILLIARD_TREE=${root}:${start}`;
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let env;
    try { env = readFileSync(`/proc/${name}/environ`, 'latin1'); } catch { continue; }
    if (!env.split('\0').includes(tag)) continue;
    if (alive(Number(name))) out.push(Number(name));
  }
  return out;
}

export const shmList = () => new Set(readdirSync('/dev/shm'));
export function shmNew(before) { return [...shmList()].filter((n) => !before.has(n)); }

export function fdCount(pid = process.pid) {
  try { return readdirSync(`/proc/${pid}/fd`).length; } catch { return -1; }
}
export function fdTargets(pid = process.pid) {
  const out = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try { out.push(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch {}
    }
  } catch {}
  return out;
}
export function rssKb(pid = process.pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch { return -1; }
}

/** Poll until `pred()` or `ms` elapsed (only for conditions no event reports, like /proc state). */
export async function until(pred, ms, step = 10) {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, step));
  }
}

/** Least-squares slope of ys over xs. */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}

export const rand = (a, b) => a + Math.floor(Math.random() * (b - a + 1));

/** Children of this process, without the resource tracker's reaper (it lives as long as we do, by design). */
export function leftoverChildren(pid = process.pid) {
  return childrenOf(pid).filter((c) => {
    try { c.cmd = readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 160); } catch { c.cmd = '?'; }
    return !c.cmd.includes('resource-tracker-reaper');
  });
}
