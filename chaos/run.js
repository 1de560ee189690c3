// Runs the chaos scenarios one at a time and prints the summary table.
//   node chaos/run.js [--short] [--skip-soak] [--only=a,b]
// Exit code: non-zero when any scenario failed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { SHORT, shmExists, shmList, startTimeOf, treeMembers, treeSegments, until } from './lib.js';

const ALL = ['pool-kill', 'terminate', 'parent-death', 'lock-death', 'fuzz', 'bad-input', 'auth', 'soak'];
const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const skipSoak = args.includes('--skip-soak');
const pass = args.filter((a) => a === '--short' || a.startsWith('--seconds='));
const list = (only ?? ALL).filter((s) => !(skipSoak && s === 'soak'));

function run(name) {
  const shm0 = shmList();
  return new Promise((resolve) => {
    const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
    const t0 = Date.now();
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.BILLIARD_TREE; // the scenario is the root of its own process tree
    const cp = spawn(process.execPath, [file, ...pass], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const root = cp.pid;
    const start = startTimeOf(root);
    // The segments the scenario's tree registers, read while it runs (its reaper removes the logs).
    const segments = new Set();
    const watch = setInterval(() => treeSegments(root, start, segments), 200);
    let out = '', err = '';
    cp.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    cp.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    cp.on('exit', async (code, signal) => {
      clearInterval(watch);
      // After the scenario's process is gone: nothing of its tree left in /dev/shm, no process of
      // its tree alive. Segments shared with children are the tree's reaper's to unlink once the
      // whole tree has ended (it polls every 100 ms; on a loaded machine that can take a while),
      // and the reaper is the tree's last process.
      const left = () => {
        treeSegments(root, start, segments);
        const ours = [...shmList()].filter((n) => !shm0.has(n) && n.startsWith(`bl${root}_`));
        return [...new Set([...ours, ...[...segments].filter(shmExists)])];
      };
      const clean = await until(() => left().length === 0, 5000, 20);
      const shmAfterExit = left();
      const orphans = [];
      await until(() => { orphans.splice(0, Infinity, ...treeMembers(root, start)); return orphans.length === 0; }, clean ? 5000 : 1000, 20);
      for (const p of orphans) orphans[orphans.indexOf(p)] = `${p} ${cmdline(p).replace(/\0/g, ' ').slice(0, 100)}`;
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
    case 'fuzz': return f({ decoded: `${r.decoder?.inputs} in/${r.decoder?.errors} err`, framing: `${r.framing?.inputs} in`, handshake: `${r.handshake?.rejected} rejected/${r.handshake?.goodServed} good`, claims: `${(r.hugeClaims?.checks ?? 0) - (r.hugeClaims?.failures?.length ?? 0)}/${r.hugeClaims?.checks} ok`, manager: `${r.managerProtocol?.sent} sent/${r.managerProtocol?.errorReplies} err`, crashes: r.managerProtocol?.managerAlive === false ? 1 : 0 });
    case 'bad-input': return f({ cases: r.cases, typed: r.typed, bad: r.untypedOrAccepted });
    case 'auth': return f({ wrongKey: `${r.wrongKeyRejected} rej/${r.wrongKeyAccepted} acc`, replay: `${r.replayRejected} rej/${r.replayAccepted} acc`, unauth: `${r.unauthRejected} rej/${r.unauthDelivered} del`, loopback: r.loopbackOnly });
    case 'soak': return f({ ops: r.ops, procs: r.processes, 'heapMB/min': r.worstHeapSlopeMBmin, 'nonHeapMB/min': r.worstNonHeapSlopeMBmin, 'rssMB/min': r.worstRssSlopeMBmin, fdGrowth: r.worstFdGrowth, shmGrowth: r.shm?.growth });
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
