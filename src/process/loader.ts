/**
 * The Node.js flags a child inherits: the parent's, less those that make no
 * sense twice (test runner, inspector, watch mode, eval), so that a child
 * runs with the parent's module loader (tsx, type stripping …).
 */
const dropWithValue = new Set(['-e', '--eval', '-p', '--print', '-r-nothing']);
const dropPrefixes = ['--test', '--inspect', '--debug', '--watch', '--experimental-test', '--cpu-prof', '--heap-prof', '--prof'];

let cached: string[] | undefined;

export function childExecArgv(): string[] {
  if (cached) return cached;
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (dropWithValue.has(arg)) { i++; continue; }
    if (dropPrefixes.some((p) => arg.startsWith(p))) continue;
    out.push(arg);
  }
  return (cached = out);
}
