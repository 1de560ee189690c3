/**
 * State a forkserver child must not share with the server it was forked
 * from: each module that caches something of its own process (its pid's
 * start time, a log file, the thread id that owns locks, heap arenas)
 * registers how to drop it, and the child runs these first (CPython's
 * os.register_at_fork(after_in_child=…)).
 */
const hooks: Array<() => void> = [];

export function afterForkInChild(hook: () => void): void {
  hooks.push(hook);
}

export function runAfterForkHooks(): void {
  for (const hook of hooks) hook();
}
