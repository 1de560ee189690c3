/**
 * High-performance computing configuration (seed: billiard docs, "Context
 * Configuration Examples: High-Performance Computing").
 *
 * Python sets 'fork' when available for the fastest start; on Node.js the
 * fastest-starting children come from 'forkserver'. A pool of cpuCount()
 * workers maps a CPU-bound function over the data.
 *
 *   npx tsx examples/hpc-pool.ts
 */
import { cpuCount, getAllStartMethods, getContext, isMainProcess, setStartMethod } from 'billiard';

/** CPU-bound work: the sum of i*i mod 7 for i < n. */
export function computeIntensiveFunction(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += (i * i) % 7;
  return acc;
}

if (isMainProcess()) {
  // Configure for an HPC workload.
  setStartMethod(getAllStartMethods().includes('forkserver') ? 'forkserver' : 'spawn');
  const ctx = getContext();

  const data = Array.from({ length: 16 }, (_, i) => 100_000 * (i + 1));
  {
    // Use a pool as large as the machine; terminated when the block ends.
    await using pool = new ctx.Pool({ processes: cpuCount() });
    const results = await pool.map(computeIntensiveFunction, data);
    const expected = data.map(computeIntensiveFunction);
    console.log(`start method ${ctx.getStartMethod()}, ${pool.processes} workers`);
    console.log(`results: ${results.slice(0, 4).join(', ')}, … (${results.length} values)`);
    console.log(`same as sequential: ${JSON.stringify(results) === JSON.stringify(expected)}`);
  }
}
