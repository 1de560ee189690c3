/**
 * Reading /proc/<pid>/stat: whether a process or thread is alive, told apart
 * from a later one that reuses its id by its start time. Used by the resource
 * tracker and by its reaper (a standalone script, so this module has no
 * side effects and no other imports).
 */
import * as fs from 'node:fs';

/** Start time (clock ticks since boot) of a process or thread, or null if it is gone or a zombie. */
export function startTimeOf(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // "pid (comm) S ppid …": comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return null;
  return fields[19] ?? null;
}
