/**
 * Choosing a context (seed: billiard docs, "Context Selection Guidelines" and
 * the factory pattern).
 *
 * Python's choice depends on the platform and on whether threads are running
 * (fork is unsafe with threads). On Node.js there is no 'fork': the fast choice
 * is 'forkserver' (warm, pre-booted children), the portable one is 'spawn', and
 * 'thread' runs children as worker threads of this process.
 *
 *   npx tsx examples/context-selection.ts
 */
import { getAllStartMethods, getContext, isMainProcess, type Context } from 'billiard';

function selectOptimalContext(): Context {
  if (process.platform === 'win32' || process.platform === 'darwin') {
    // billiard runs on Linux only; elsewhere a Python program would pick spawn.
    return getContext('spawn');
  }
  // Linux: warm children start fastest, and are safe whatever threads run here.
  return getAllStartMethods().includes('forkserver') ? getContext('forkserver') : getContext('spawn');
}

/** Factory pattern: one context per requirement. */
class ProcessContextFactory {
  /** Context optimized for performance (Python: fork when available). */
  static createHighPerformanceContext(): Context {
    return getAllStartMethods().includes('forkserver') ? getContext('forkserver') : getContext('spawn');
  }

  /** Context optimized for safety (Python: forkserver when available). */
  static createSafeContext(): Context {
    return getAllStartMethods().includes('forkserver') ? getContext('forkserver') : getContext('spawn');
  }

  /** Context for maximum portability. */
  static createPortableContext(): Context {
    return getContext('spawn');
  }

  /** Lightest children: threads of this process (Python's multiprocessing.dummy, but parallel). */
  static createInProcessContext(): Context {
    return getContext('thread');
  }
}

function contextFactoryPattern(performanceCritical: boolean): Context {
  if (process.platform === 'win32') return ProcessContextFactory.createPortableContext();
  if (performanceCritical) return ProcessContextFactory.createHighPerformanceContext();
  return ProcessContextFactory.createSafeContext();
}

if (isMainProcess()) {
  const optimalCtx = selectOptimalContext();
  console.log(`Selected context with start method: ${optimalCtx.name}`);
  console.log(`Factory (performance critical): ${contextFactoryPattern(true).name}`);
  console.log(`Factory (portable): ${ProcessContextFactory.createPortableContext().name}`);
  console.log(`Factory (in-process): ${ProcessContextFactory.createInProcessContext().name}`);

  // Use the selected context: a process that reports how it was started.
  const child = new optimalCtx.Process({ target: () => console.log(`child started by ${process.argv0}, pid ${process.pid}`) });
  child.start();
  await child.join();
  console.log(`child exit code ${child.exitcode}`);
}
