// The typed manager facade: `await d.get(k)` and `await l.append(x)` type-check
// against the types given at creation (tsc on test/fixtures/mgr-typecheck.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('typed proxies compile, and misuses are compile errors', async () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const args = [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--skipLibCheck', '--types', 'node', 'test/fixtures/mgr-typecheck.ts'];
  const result = await new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
  });
  assert.equal(result.err, null, `tsc failed:\n${result.stdout}${result.stderr}`);
});
