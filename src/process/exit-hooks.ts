/**
 * Work a child finishes before it exits (CPython's util.Finalize with an
 * exit priority): queue feeders flushing their buffered items, for example.
 */
type Hook = () => unknown;

const hooks = new Set<Hook>();

/** Run `hook` (awaited) when this child process's target has returned. Returns an unregister function. */
export function atChildExit(hook: Hook): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

export async function runExitHooks(): Promise<void> {
  const pending = [...hooks].reverse();
  hooks.clear();
  for (const hook of pending) {
    try {
      await hook();
    } catch (err) {
      process.stderr.write(`billiard: exit hook failed: ${String(err)}\n`);
    }
  }
}
