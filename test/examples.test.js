// Runs every program in examples/ (except the demo and its task module) with
// `node --import tsx` and checks its exit code and a characteristic line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = path.join(root, 'examples');
const SKIP = new Set(['demo.ts', 'demo-tasks.ts']);

/** example file → patterns its output must match. */
const EXPECT = {
  'application-structure.ts': [/^Result from worker 3$/m, /^4 results with start method spawn$/m],
  'change-start-method.ts': [/^Child process using start method: forkserver\nChild process using start method: spawn$/m],
  'context-basics.ts': [/^Available start methods: \["spawn","forkserver","thread"\]$/m, /^Start method: spawn$/m, /^Child exit code: 0$/m],
  'context-isolation.ts': [/^Context 1: Message from context 1$/m, /^Context 2: Message from context 2$/m],
  'context-selection.ts': [/^Selected context with start method: forkserver$/m, /^child exit code 0$/m],
  'distributed-manager.ts': [/^shared state: \[\["node-1",1\],\["node-2",4\],\["node-3",9\]\]$/m],
  'get-start-method.ts': [/^spawn$/m],
  'hpc-pool.ts': [/^start method forkserver, \d+ workers$/m, /^same as sequential: true$/m],
  'manager-basics.ts': [/^dict keys: \["worker-1","worker-2","worker-3"\]$/m, /\(len 4\)$/m],
  'mixed-context-lock.ts': [/^lock from forkserver, process from spawn: exit code 0$/m, /^lock from spawn, process from forkserver: exit code 0$/m],
  'multiple-contexts.ts': [/^Worker from forkserver context: PID \d+$/m, /^Worker from spawn context: PID \d+$/m],
  'pipe-connection.ts': [/^recvBytes: HELLO BYTES$/m, /^recv after the child closed its end: EOFError$/m, /^one-way: one-way message$/m],
  'pool-basics.ts': [/^map: \[1,4,9,16,25\]$/m, /^error from worker: RangeError: bad input \(instanceof RangeError: true\)$/m, /^second pool terminated$/m],
  'pool-context.ts': [/^Main process using spawn$/m, /^Worker using forkserver$/m],
  'pool-default-context.ts': [/^Main process using spawn$/m, /^Worker using spawn$/m],
  'pool-time-limits.ts': [/^polite job: stopped at the soft limit after \d+ steps$/m, /^runaway job: TimeLimitExceeded/m, /worker replaced: true$/m],
  'process-lifecycle.ts': [/^greeter exitcode 0$/m, /^exiter exitcode 3$/m, /exitcode -15$/m],
  'queue-producer-consumer.ts': [/^consumed 20 items/m, /^joinable queue: all tasks done, results \[10,20,30,40,50\]$/m],
  'quick-start.ts': [/^Squared: \[ 1, 4, 9, 16, 25 \]$/m, /Hello from worker-2/],
  'shared-values.ts': [/^Value: 42$/m, /^Array: \[1,4,9,16,25\]$/m, /^RawArray: \[0,10,20,30\]$/m],
  'start-method-comparison.ts': [/^All threads completed in parent$/m, /^Child process \(thread\): PID \d+, PPID \d+, main thread: false$/m],
  'sync-primitives.ts': [/^counter: 3000 \(expected 3000\)$/m, /^at most [12] workers inside the Semaphore\(2\) section$/m],
  'web-service-pool.ts': [/^handled 8 requests with \d+ worker pids/m],
};

const files = readdirSync(examplesDir).filter((f) => f.endsWith('.ts') && !SKIP.has(f)).sort();

const env = { ...process.env };
delete env.NODE_TEST_CONTEXT;

function run(file) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join('examples', file)],
      { cwd: root, env, timeout: 30_000, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }));
  });
}

test('every example has expectations', () => {
  assert.deepEqual(files, Object.keys(EXPECT).sort());
});

// Two examples at a time at most (the machine may have 2 cores).
const queue = [...files];
const runs = new Map();
let active = 0;
const waiters = [];
function schedule(file) {
  if (!runs.has(file)) {
    runs.set(file, new Promise((resolve) => {
      const go = () => { active++; run(file).then((r) => { active--; waiters.shift()?.(); resolve(r); }); };
      if (active < 2) go(); else waiters.push(go);
    }));
  }
  return runs.get(file);
}
// Start them in order, as slots free up.
for (const f of queue) schedule(f);

for (const file of files) {
  test(`examples/${file}`, async () => {
    const { code, stdout, stderr } = await schedule(file);
    assert.equal(code, 0, `exit code ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    for (const re of EXPECT[file] ?? []) assert.match(stdout, re, `stderr:\n${stderr}`);
  });
}
