import { Queue } from 'billiard';
import { codec } from '../dist/wire/codec.js';
const q = new Queue();
const n = 1_000_000;
for (let r = 0; r < 3; r++) {
  let t0 = performance.now();
  for (let i = 0; i < n; i++) codec.encode(i, { attachments: true, root: 'item' });
  console.log('encode', ((performance.now() - t0) / n * 1e3).toFixed(0), 'ns');
  const enc = codec.encode(12345, { attachments: true });
  t0 = performance.now();
  for (let i = 0; i < n; i++) codec.decode(enc.body, { attachments: [] });
  console.log('decode', ((performance.now() - t0) / n * 1e3).toFixed(0), 'ns');
  t0 = performance.now();
  for (let i = 0; i < 1000; i++) { for (let k = 0; k < 1000; k++) q.putSync(k); for (let k = 0; k < 1000; k++) q.getSync(); }
  console.log('putSync+getSync', ((performance.now() - t0) / n * 1e3).toFixed(0), 'ns');
  t0 = performance.now();
  for (let i = 0; i < 1000; i++) { for (let k = 0; k < 1000; k++) await q.put(k); for (let k = 0; k < 1000; k++) await q.get(); }
  console.log('put+get async', ((performance.now() - t0) / n * 1e3).toFixed(0), 'ns');
}
