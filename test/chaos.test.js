// The short form of the chaos suite (chaos/run.js): fault injection, fuzzing and leak checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../chaos/run.js', import.meta.url));
// Every scenario but the soak (a fixed 30 s of load, run by `npm run test:chaos`). The runner checks
// each scenario's own process tree (its registered segments, its processes), so other test files
// running at the same time do not count against it.
const CI = ['pool-kill', 'terminate', 'parent-death', 'lock-death', 'fuzz', 'bad-input', 'auth'];

test('chaos suite, short form', { timeout: 110_000 }, async () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const cp = execFile(process.execPath, [RUN, '--short', '--skip-soak', `--only=${CI.join(',')}`],
      { env, timeout: 100_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: cp.exitCode, stdout, stderr }));
  });
  assert.equal(code, 0, `chaos short form failed:\n${stdout}\n${stderr}`);
});
