/**
 * The reaper of a billiard process tree (see resource-tracker.ts), run as
 * `node resource-tracker-reaper.js <registry dir> <root pid> <root start time>`.
 *
 * Waits until the root and every process that wrote a log in the registry
 * directory have ended, then unlinks every segment still registered, removes
 * the directory and exits. Self-contained: it loads nothing of billiard.
 * Exit codes as CPython's tracker: 0 clean, 1 leaked segments were unlinked,
 * 2 a cleanup error.
 */
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { startTimeOf } from './proc-stat.js';

const POLL_MS = 100;
const SHM_DIR = '/dev/shm';


const alive = (pid: number, start: string): boolean => startTimeOf(pid) === start;

const LOG = /^(\d+)-(\d+)-\d+\.log$/;

/** True when every process of the tree that registered anything has ended. */
function treeEnded(dir: string, root: number, rootStart: string): boolean {
  if (alive(root, rootStart)) return false;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return true;
  }
  for (const name of names) {
    const m = LOG.exec(name);
    if (m && alive(Number(m[1]), m[2]!)) return false;
  }
  return true;
}

/** Unlink what the logs still register; remove the directory. Returns the exit code. */
function cleanup(dir: string): number {
  const count = new Map<string, number>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!LOG.test(name)) continue;
    let text = '';
    try {
      text = fs.readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const segment = line.slice(1);
      if (!segment || (segment.includes('/') && !segment.startsWith('@/'))) continue;
      if (line[0] === '+') count.set(segment, (count.get(segment) ?? 0) + 1);
      else if (line[0] === '-') count.set(segment, (count.get(segment) ?? 0) - 1);
    }
  }
  let code = 0;
  for (const [segment, n] of count) {
    if (n <= 0) continue;
    try {
      // '@/path' is a file-system path (a directory of Unix socket addresses), anything else a segment.
      if (segment.startsWith('@/')) fs.rmSync(segment.slice(1), { recursive: true, force: true });
      else fs.unlinkSync(join(SHM_DIR, segment));
      code = Math.max(code, 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') code = 2;
    }
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    code = 2;
  }
  return code;
}

/** Registry directories of ended trees whose reaper is gone too (killed): clean them. */
function sweepOrphans(own: string): void {
  const parent = dirname(own);
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = /^billiard-(\d+)-(\d+)$/.exec(entry);
    const dir = join(parent, entry);
    if (!m || dir === own) continue;
    let reaperAlive = false;
    try {
      const [pid, start] = fs.readFileSync(join(dir, 'reaper.pid'), 'utf8').split(':');
      reaperAlive = alive(Number(pid), start!);
    } catch {
      // No pid file: its reaper may be starting right now; leave it for a while.
      try {
        if (Date.now() - fs.statSync(dir).mtimeMs < 60_000) reaperAlive = true;
      } catch {
        continue;
      }
    }
    if (!reaperAlive && treeEnded(dir, Number(m[1]), m[2]!)) cleanup(dir);
  }
}

function main(): void {
  const [dir, rootArg, rootStart] = process.argv.slice(2);
  if (!dir || !rootArg || !rootStart) process.exit(3);
  const root = Number(rootArg);
  // Like CPython's tracker: terminal and polite signals do not stop it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
  try {
    sweepOrphans(dir);
  } catch {
    /* best effort */
  }
  const tick = (): void => {
    if (!treeEnded(dir, root, rootStart)) {
      setTimeout(tick, POLL_MS);
      return;
    }
    process.exit(cleanup(dir));
  };
  tick();
}

main();
