/**
 * Pool time limits (seed: billiard quick-start, the Pool snippet's
 * timeout / soft_timeout options; billiard's exceptions TimeLimitExceeded,
 * SoftTimeLimitExceeded).
 *
 * Durations are in milliseconds. At the soft limit the task's AbortSignal
 * aborts with SoftTimeLimitExceeded (and currentTask().softTimeLimitExceeded()
 * turns true), so the task can stop cleanly; at the hard limit the job rejects
 * with TimeLimitExceeded and its worker is killed and replaced.
 *
 *   npx tsx examples/pool-time-limits.ts
 */
import { Pool, TimeLimitExceeded, currentTask, isMainProcess } from 'billiard';

/** Works in steps until the soft limit, then returns what it did. */
export async function politeJob(steps: number): Promise<string> {
  const task = currentTask();
  let done = 0;
  while (done < steps && !task.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    done++;
  }
  return task.softTimeLimitExceeded() ? `stopped at the soft limit after ${done} steps` : `finished ${done} steps`;
}

/** A synchronous loop that never yields: only the hard limit stops it. */
export function runaway(): never {
  for (;;) { /* spin */ }
}

if (isMainProcess()) {
  await using pool = new Pool({ processes: 1, softTimeout: 200, timeout: 2000 });

  console.log(`polite job: ${await pool.apply(politeJob, [1000])}`);

  const before = pool.workerPids();
  try {
    await pool.apply(runaway, [], { timeout: 300 }); // per-call hard limit
  } catch (e) {
    if (!(e instanceof TimeLimitExceeded)) throw e;
    console.log(`runaway job: ${e.name} (code ${e.code})`);
  }
  console.log(`after the hard limit: ${await pool.apply(politeJob, [3])}; worker replaced: ${pool.workerPids()[0] !== before[0]}`);
}
