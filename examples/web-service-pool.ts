/**
 * Web service backend configuration (seed: billiard docs, "Context
 * Configuration Examples: Web Service Backend").
 *
 * 'spawn' for fresh, independent workers; a request pool whose workers are
 * recycled after maxTasksPerChild requests (here 3, to see it happen).
 *
 *   npx tsx examples/web-service-pool.ts
 */
import { getContext, isMainProcess, setStartMethod } from 'billiard';

/** Handle one "request" in a worker. */
export function handleRequest(path: string): { path: string; status: number; pid: number } {
  return { path, status: path.startsWith('/api/') ? 200 : 404, pid: process.pid };
}

if (isMainProcess()) {
  setStartMethod('spawn'); // safe with any framework state in the parent
  const ctx = getContext();

  // Worker pool for request processing (Python: maxtasksperchild=100).
  const requestPool = new ctx.Pool({ processes: 2, maxTasksPerChild: 3 });
  const paths = ['/api/users', '/api/orders', '/favicon.ico', '/api/items', '/api/cart', '/', '/api/pay', '/api/login'];
  const responses = await Promise.all(paths.map((p) => requestPool.apply(handleRequest, [p])));
  for (const r of responses) console.log(`${r.status} ${r.path} (worker ${r.pid})`);
  console.log(`handled ${responses.length} requests with ${new Set(responses.map((r) => r.pid)).size} worker pids (recycled every 3 tasks)`);
  requestPool.close();
  await requestPool.join();
}
