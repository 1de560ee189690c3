// The benchmark chart: one bar per row that has an anchor, showing how many
// times faster than the anchor (Python's multiprocessing first, else the first
// anchor) billiard ran, on a log scale with 1× marked. Written as an SVG so
// the README can show it; made by `npm run bench` from the run's results.
const ROW_H = 22;
const LABEL_W = 470;
const BAR_W = 360;
const MIN_X = 0.1;
const MAX_X = 1000;

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Times faster than the anchor: rates compare directly, times inversely. */
function speedup(row, anchor) {
  if (!anchor?.ratio || !Number.isFinite(anchor.ratio) || anchor.ratio <= 0) return null;
  return row.better === 'lower' ? 1 / anchor.ratio : anchor.ratio;
}

function pickAnchor(row) {
  const anchors = (row.anchors ?? []).filter((a) => a.ratio);
  return anchors.find((a) => /multiprocessing/.test(a.name)) ?? anchors[0];
}

export function chartSvg({ meta, suites }) {
  const bars = [];
  for (const suite of suites) {
    for (const row of suite.rows ?? []) {
      const anchor = pickAnchor(row);
      const x = speedup(row, anchor);
      if (x === null) continue;
      const metric = row.metric.length > 58 ? `${row.metric.slice(0, 57)}…` : row.metric;
      bars.push({ label: `${suite.id}: ${metric}`, anchor: anchor.name, x });
    }
  }
  const scale = (v) => (Math.log10(Math.min(MAX_X, Math.max(MIN_X, v))) - Math.log10(MIN_X)) /
    (Math.log10(MAX_X) - Math.log10(MIN_X)) * BAR_W;
  const width = LABEL_W + BAR_W + 150;
  const height = 70 + bars.length * ROW_H + 30;
  const one = LABEL_W + scale(1);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">billiard for TypeScript: times faster than the anchor (log scale; &gt; 1× is faster)</text>`);
  const machine = `${meta?.cpus ?? '?'} CPUs, node ${meta?.node ?? process.version}${meta?.quick ? ', --quick' : ''}${meta?.date ? `, ${meta.date}` : ''}`;
  out.push(`<text x="10" y="42" fill="#555">${escape(machine)}; anchor named at the end of each bar</text>`);
  for (const tick of [0.1, 0.5, 1, 2, 5, 10, 100, 1000]) {
    const x = LABEL_W + scale(tick);
    out.push(`<line x1="${x}" y1="55" x2="${x}" y2="${height - 25}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${x}" y="${height - 10}" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  bars.forEach((bar, i) => {
    const y = 60 + i * ROW_H;
    const x0 = Math.min(one, LABEL_W + scale(bar.x));
    const w = Math.max(1, Math.abs(LABEL_W + scale(bar.x) - one));
    out.push(`<text x="${LABEL_W - 8}" y="${y + 14}" text-anchor="end">${escape(bar.label)}</text>`);
    out.push(`<rect x="${x0}" y="${y + 3}" width="${w}" height="${ROW_H - 8}" fill="${bar.x >= 1 ? '#2a7' : '#d54'}"/>`);
    out.push(`<text x="${LABEL_W + BAR_W + 6}" y="${y + 14}" fill="#333">${bar.x.toFixed(bar.x < 10 ? 2 : 0)}× ${escape(bar.anchor.replace(/^py /, ''))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
