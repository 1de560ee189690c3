// Runs the chaos scenarios one at a time and prints the summary table.
//   node chaos/run.js [--short] [--skip-soak] [--only=a,b] [--skip-known]
// Exit code: non-zero when any scenario failed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { SHORT, shmList, until, processTable } from './lib.js';

const ALL = ['pool-kill', 'terminate', 'parent-death', 'lock-death', 'fuzz', 'bad-input', 'auth', 'soak'];
const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const skipSoak = args.includes('--skip-soak');
const pass = args.filter((a) => a === '--short' || a === '--skip-known' || a.startsWith('--seconds='));
const list = (only ?? ALL).filter((s) => !(skipSoak && s === 'soak'));

function run(name) {
  const shm0 = shmList();
  return new Promise((resolve) => {
    const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
    const t0 = Date.now();
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const cp = spawn(process.execPath, [file, ...pass], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '', err = '';
    cp.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    cp.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    cp.on('exit', async (code, signal) => {
      // After the scenario's process is gone: nothing of it left in /dev/shm, no orphans. Segments
      // shared with children are the tree's reaper's to unlink once the whole tree has ended
      // (it polls every 100 ms; on a loaded CI machine that can take a few seconds).
      const clean = await until(() => [...shmList()].every((n) => shm0.has(n)), 5000, 20);
      const shmAfterExit = [...shmList()].filter((n) => !shm0.has(n));
      const orphans = [];
      await until(() => { orphans.length = 0; for (const [p, st] of processTable()) if (st.ppid === 1 && st.state !== 'Z' && cmdline(p).includes('/work/main/')) orphans.push(p); return orphans.length === 0; }, 1000, 10);
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      let result;
      try { result = JSON.parse(line); } catch { result = { scenario: name, ok: false, notes: [`no result line (exit ${code ?? signal})`, err.slice(-2000)] }; }
      if (code !== 0 && result.ok) result = { ...result, ok: false, notes: [...(result.notes ?? []), `exit ${code ?? signal}`] };
      result.crashed = code !== 0 && code !== 1;
      result.shmLeftAfterExit = shmAfterExit.length;
      result.orphans = orphans.length;
      if (!clean || orphans.length) result = { ...result, ok: false, notes: [...(result.notes ?? []), `after exit: /dev/shm ${shmAfterExit.join(',')} orphans ${orphans.join(',')}`] };
      result.seconds = (Date.now() - t0) / 1000;
      if (!result.ok && err) result.stderr = err.slice(-1500);
      resolve(result);
    });
  });
}

/** The figures of one scenario, in a line of the table. */
function figures(r) {
  const f = (o) => Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
  switch (r.scenario) {
    case 'pool-kill': return f({ jobs: r.jobs, settled: r.settled, twice: r.twice, workerLost: r.workerLost, kills: r.kills, imap: `${r.imapItems}(${r.imapLost} lost)`, healthy: r.healthyWorkers, leaks: r.childrenLeft });
    case 'terminate': return f({ reps: r.reps, promises: r.promises, hangs: r.hangs, unsettled: r.unsettled, childLeft: r.repsWithChildAfter1s });
    case 'parent-death': return f({ reps: r.reps, tree: r.treeSizes?.join('/'), survivors: r.survivors, shmLeft: r.shmLeft, worstMs: r.worstCleanupMs });
    case 'lock-death': return ['lock', 'rlock', 'barrier', 'queue'].map((k) => `${k}=${r[k]?.pass ? 'ok' : 'FAIL'}(${r[k]?.worstMs}ms)`).join(' ');
    case 'fuzz': return f({ decoded: `${r.decoder?.inputs} in/${r.decoder?.errors} err`, framing: `${r.framing?.inputs} in`, handshake: `${r.handshake?.rejected} rejected/${r.handshake?.goodServed} good`, manager: `${r.managerProtocol?.sent} sent/${r.managerProtocol?.errorReplies} err`, crashes: r.managerProtocol?.managerAlive === false ? 1 : 0 });
    case 'bad-input': return f({ cases: r.cases, typed: r.typed, bad: r.untypedOrAccepted });
    case 'auth': return f({ wrongKey: `${r.wrongKeyRejected} rej/${r.wrongKeyAccepted} acc`, replay: `${r.replayRejected} rej/${r.replayAccepted} acc`, unauth: `${r.unauthRejected} rej/${r.unauthDelivered} del`, loopback: r.loopbackOnly });
    case 'soak': return f({ ops: r.ops, procs: r.processes, slopeKBmin: r.worstSlopeKbPerMin, fdGrowth: r.worstFdGrowth, shmGrowth: r.shmGrowth });
    default: return '';
  }
}

function cmdline(pid) {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; }
}

const results = [];
for (const name of list) {
  const r = await run(name);
  results.push(r);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
const rows = results.map((r) => [r.scenario, r.ok ? 'PASS' : 'FAIL', r.crashed ? 'yes' : 'no', `${r.seconds.toFixed(1)}s`, `${r.shmLeftAfterExit}/${r.orphans}`, figures(r)]);
const head = ['scenario', 'result', 'crash', 'time', 'leaks(shm/orphans)', 'figures'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]))).join(' | ');
process.stdout.write(`\nchaos ${SHORT ? '(short)' : '(full)'}\n${line(head)}\n${w.map((n) => '-'.repeat(Math.min(n, 60))).join('-|-')}\n`);
for (const row of rows) process.stdout.write(`${line(row)}\n`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
