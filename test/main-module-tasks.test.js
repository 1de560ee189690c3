import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, Process, currentTask } from 'billiard';
export function square(x) { return x * x; }
export function usesImport(x) { return typeof currentTask === 'function' ? x + 1 : -1; }
// Tasks defined in a node:test file: children import it (as Python imports __main__),
// but its tests must not run again there (billiard makes node:test inert in children).
test('tasks defined in the test file itself', async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
    assert.deepEqual(await pool.map(usesImport, [1, 2]), [2, 3]);
  } finally { await pool.terminate(); }
  const p = new Process({ target: square, args: [3] }); p.start(); await p.join(); assert.equal(p.exitcode, 0);
});

test('…and under the thread and forkserver start methods', async () => {
  const { getContext } = await import('billiard');
  for (const method of ['thread', 'forkserver']) {
    const pool = new Pool({ processes: 2, context: getContext(method) });
    try {
      assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
    } finally {
      await pool.terminate();
    }
  }
});
