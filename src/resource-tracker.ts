/**
 * The resource tracker: named kernel objects (shared memory segments) that a
 * process tree creates are unlinked when the whole tree has ended, also when
 * its processes were SIGKILLed.
 *
 * Design (differs from CPython's tracker process fed by a pipe, for robustness
 * and for zero IPC on the hot path):
 *
 * - The *tree* is named by its root process: `BILLIARD_TREE=<pid>:<starttime>`
 *   in the environment. The root sets it when this module loads; children
 *   inherit it (spawn passes the environment on). A process whose
 *   BILLIARD_TREE names a root that is not its ancestor (a stale variable)
 *   starts a tree of its own.
 * - Every process (and worker thread) appends `+name` / `-name` lines to its
 *   own log file in the tree's registry directory
 *   (`$TMPDIR/billiard-<root>-<starttime>/`) *before* it creates / after it
 *   unlinks a segment, with one synchronous write: a crash at any point
 *   leaves at worst an entry for a name that does not exist.
 * - The first process to create the directory starts the *reaper*: a tiny,
 *   detached Node.js process (resource-tracker-reaper.js) that polls every
 *   100 ms until the root and every process that wrote a log has ended
 *   (pid + start time, so pid reuse cannot fool it; zombies count as ended),
 *   then unlinks every name still registered, removes the directory and exits.
 *   It also sweeps registry directories of dead trees whose reaper is gone.
 *
 * Liveness checks read /proc/<pid>/stat: they are used by the lock robustness
 * code too (`threadAlive`).
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { startTimeOf } from './proc-stat.js';
import { afterForkInChild } from './process/after-fork.js';

export { startTimeOf };

export const TREE_ENV = 'BILLIARD_TREE';


function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** True while the thread (or process) `tid` exists and is not a zombie. */
export function threadAlive(tid: number): boolean {
  if (tid <= 0) return false;
  return startTimeOf(tid) !== null;
}

/** True while process `pid` runs and still has start time `start`. */
export function processAlive(pid: number, start: string): boolean {
  return startTimeOf(pid) === start;
}

let ownStart: string | undefined;
function myStartTime(): string {
  return (ownStart ??= startTimeOf(process.pid) ?? '0');
}

interface Tree {
  root: number;
  start: string;
}

function parseTree(value: string | undefined): Tree | null {
  const m = value ? /^(\d+):(\d+)$/.exec(value) : null;
  return m ? { root: Number(m[1]), start: m[2]! } : null;
}

// The root names the tree at once, before it starts any child.
if (!parseTree(process.env[TREE_ENV]) && process.platform === 'linux') {
  process.env[TREE_ENV] = `${process.pid}:${myStartTime()}`;
}

let tree: Tree | undefined;

/** This process's tree, validated (the root must be this process or an ancestor). */
export function currentTree(): Tree {
  if (tree) return tree;
  const claimed = parseTree(process.env[TREE_ENV]);
  if (claimed && isAncestorOrSelf(claimed)) return (tree = claimed);
  tree = { root: process.pid, start: myStartTime() };
  process.env[TREE_ENV] = `${tree.root}:${tree.start}`;
  return tree;
}

function isAncestorOrSelf(t: Tree): boolean {
  let pid: number | null = process.pid;
  for (let depth = 0; pid !== null && pid > 0 && depth < 128; depth++) {
    if (pid === t.root) return startTimeOf(pid) === t.start;
    pid = parentOf(pid);
  }
  return false;
}

/** The registry directory of a tree. */
export function registryDir(t: Tree = currentTree()): string {
  return join(tmpdir(), `billiard-${t.root}-${t.start}`);
}

let logFd: number | undefined;

// A forked child has a start time and a log file of its own (the server's fd is closed with the rest).
afterForkInChild(() => {
  ownStart = undefined;
  if (logFd !== undefined) {
    try {
      fs.closeSync(logFd);
    } catch {
      /* already closed */
    }
  }
  logFd = undefined;
});

function log(line: string): void {
  if (logFd === undefined) {
    const dir = registryDir();
    let created = false;
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    logFd = fs.openSync(join(dir, `${process.pid}-${myStartTime()}-${threadId}.log`), 'a', 0o600);
    if (created) startReaper(dir);
  }
  fs.writeSync(logFd, line);
}

/** Record that this process is about to create segment `name` (with or without its leading '/'). */
export function register(name: string): void {
  log(`+${name.replace(/^\//, '')}\n`);
}

/** Record that segment `name` was unlinked. */
export function unregister(name: string): void {
  log(`-${name.replace(/^\//, '')}\n`);
}

/** Record a file-system path (a directory) to remove if this tree ends without removing it. */
export function registerPath(absolutePath: string): void {
  log(`+@${absolutePath}\n`);
}

export function unregisterPath(absolutePath: string): void {
  log(`-@${absolutePath}\n`);
}

let reaperPid: number | undefined;

/** Pid of the reaper this process started (for tests), if any. */
export function reaperProcessId(): number | undefined {
  return reaperPid;
}

function startReaper(dir: string): void {
  const t = currentTree();
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(fromSource ? './resource-tracker-reaper.ts' : './resource-tracker-reaper.js', import.meta.url));
  const execArgv = fromSource ? process.execArgv.filter((a) => !a.startsWith('--input-type')) : [];
  const child = spawn(process.execPath, [...execArgv, script, dir, String(t.root), t.start], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.unref();
  reaperPid = child.pid;
  if (child.pid !== undefined) {
    fs.writeFileSync(join(dir, 'reaper.pid'), `${child.pid}:${startTimeOf(child.pid) ?? '0'}`);
  }
}
