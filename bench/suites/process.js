// Suite `process`: Process start → join with the spawn start method, side by
// side with a bare `node -e ''` child and Python's multiprocessing/billiard
// spawn, forkserver and fork. Target: within 1.15× of the bare node child.
import { spawn } from 'node:child_process';
import { Process, getStartMethod } from 'billiard';
import {
  FIXTURES_URL, PY_LIBS, defaultOpts, interleave, msSince, nowNs, pythonLibMissing, runPython, startJoinMs, statOf,
} from '../lib/common.js';

export const name = 'process';
export const title = 'Process start → join';

const { noop } = await import(FIXTURES_URL);

const oursOnce = () => startJoinMs(Process, noop, [FIXTURES_URL]);

function bareNodeOnce() {
  const t0 = nowNs();
  const child = spawn(process.execPath, ['-e', '']);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(msSince(t0)) : reject(new Error(`node -e exited ${code}`))));
  });
}

async function repeat(fn, k) {
  const out = [];
  for (let i = 0; i < k; i++) out.push(await fn());
  return out;
}

export async function run(opts = defaultOpts()) {
  const { quick, log = () => {} } = opts;
  const rounds = quick ? 3 : 6;
  const perRound = quick ? 5 : 10;
  const method = getStartMethod();
  const missingBilliard = await pythonLibMissing('billiard');

  const variants = [
    {
      key: 'ours',
      chunk: async (r) => {
        if (r === 0) await repeat(oursOnce, 2); // warm-up: first child, page cache, JIT
        return repeat(oursOnce, perRound);
      },
    },
    {
      key: 'node',
      chunk: async (r) => {
        if (r === 0) await bareNodeOnce();
        return repeat(bareNodeOnce, perRound);
      },
    },
  ];
  const pyKeys = [];
  for (const { lib, label } of PY_LIBS) {
    for (const m of ['spawn', 'forkserver', 'fork']) {
      const key = `${label} ${m}`;
      pyKeys.push(key);
      variants.push({
        key,
        chunk: async () => {
          if (lib === 'billiard' && missingBilliard) return missingBilliard;
          const res = await runPython('process_start.py', [
            '--lib', lib, '--method', m, '--iterations', perRound, '--warmup', 1,
          ]);
          return res.samples ? res.samples : res;
        },
      });
    }
  }

  log(`  ${rounds} rounds × ${perRound} starts per variant`);
  const { samples } = await interleave(variants, rounds, log);
  return [{
    metric: `start→join (${method})`,
    unit: 'ms',
    better: 'lower',
    ours: statOf(samples.ours, 'lower'),
    anchors: [
      { name: "node -e '' child", ...statOf(samples.node, 'lower') },
      ...pyKeys.map((key) => ({ name: key, ...statOf(samples[key], 'lower') })),
    ],
    target: { anchor: "node -e '' child", maxRatio: 1.15, label: '≤ 1.15× bare node' },
    note: 'new Process({ target, modules }).start(); await join(); Python: ctx.Process(target=noop).start(); join() after 1 untimed start per Python process (the forkserver launch is not counted)',
  }];
}
