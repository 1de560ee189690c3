import { Process, Queue, Event } from 'billiard';
const TASKS = new URL('./fixtures/queue-tasks.js', import.meta.url).href;
const tasks = await import(TASKS);
const start = (t, a) => { const p = new Process({ target: t, args: a, modules: [TASKS] }); p.start(); return p; };
async function small(n, prodSync, consSync) {
  const q = new Queue(); const go = new Event();
  const p = start(prodSync ? tasks.produceSmallSync : tasks.produceSmall, [q, go, n]);
  await new Promise(r => setTimeout(r, 300));
  const t0 = performance.now(); go.set();
  let i = 0;
  const wd = setInterval(() => { const w = [...Array(21).keys()].map(k => q._core.ld(k)); console.log('stuck at', i, 'exit', p.exitcode, JSON.stringify(w)); }, 3000);
  if (consSync) for (; i < n; i++) q.getSync(); else for (; i < n; i++) await q.get();
  clearInterval(wd);
  const s = (performance.now() - t0) / 1000; await p.join();
  return n / s;
}
for (let r = 0; r < 20; r++) {
  console.log('small sync/async', Math.round(await small(300000, true, false)));
  console.log('small async/async', Math.round(await small(300000, false, false)));
}
