/** Small SVG charts drawn by our own code (pure: data in, SVG text out). */

const FONT = 'font-family="sans-serif" font-size="12"';
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];
const LABEL_WIDTH = 260;
const BAR_HEIGHT = 18;
const GAP = 8;

const escapeXml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function frame(title, width, height, body, legend = []) {
  const legendSvg = legend
    .map(
      (name, i) =>
        `<rect x="${LABEL_WIDTH + i * 120}" y="30" width="12" height="12" fill="${COLORS[i]}"/>` +
        `<text x="${LABEL_WIDTH + i * 120 + 16}" y="40" ${FONT}>${escapeXml(name)}</text>`,
    )
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="white"/>` +
    `<text x="10" y="20" font-family="sans-serif" font-size="14" font-weight="bold">${escapeXml(title)}</text>${legendSvg}${body}</svg>\n`
  );
}

/**
 * Horizontal bars, one per item; `segments` stacks several values in one bar.
 * items: [{ label, segments: [number], note? }]; segmentNames name the stack.
 */
export function barChart({ title, unit, items, segmentNames = [""] }) {
  const width = 820;
  const top = 54;
  const plotWidth = width - LABEL_WIDTH - 110;
  const max = Math.max(1e-9, ...items.map((it) => it.segments.reduce((a, b) => a + (b ?? 0), 0)));
  const body = items
    .map((item, i) => {
      const y = top + i * (BAR_HEIGHT + GAP);
      let x = LABEL_WIDTH;
      const total = item.segments.reduce((a, b) => a + (b ?? 0), 0);
      const bars = item.segments
        .map((v, s) => {
          const w = ((v ?? 0) / max) * plotWidth;
          const rect = `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[s]}"/>`;
          x += w;
          return rect;
        })
        .join("");
      const value = item.note ?? `${formatValue(total)} ${unit}`;
      return (
        `<text x="${LABEL_WIDTH - 6}" y="${y + 13}" ${FONT} text-anchor="end">${escapeXml(item.label)}</text>${bars}` +
        `<text x="${(x + 4).toFixed(1)}" y="${y + 13}" ${FONT}>${escapeXml(value)}</text>`
      );
    })
    .join("");
  return frame(
    title,
    width,
    top + items.length * (BAR_HEIGHT + GAP) + 10,
    body,
    segmentNames.length > 1 ? segmentNames : [],
  );
}

/** One row per series, a marker per percentile on a log scale. series: [{ label, points: [number] }]. */
export function percentileChart({ title, unit, names, series }) {
  const width = 820;
  const top = 54;
  const plotWidth = width - LABEL_WIDTH - 30;
  const values = series.flatMap((s) => s.points).filter((v) => v > 0);
  const lo = Math.log10(Math.max(1, Math.min(...values, 10)));
  const hi = Math.log10(Math.max(...values, 100)) + 0.05;
  const xOf = (v) => LABEL_WIDTH + ((Math.log10(Math.max(v, 1)) - lo) / (hi - lo)) * plotWidth;
  const height = top + series.length * (BAR_HEIGHT + GAP) + 30;
  const ticks = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e += 1) {
    const v = 10 ** e;
    if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
    const x = xOf(v).toFixed(1);
    ticks.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 24}" stroke="#ddd"/>` +
        `<text x="${x}" y="${height - 10}" ${FONT} text-anchor="middle">${formatValue(v)} ${unit}</text>`,
    );
  }
  const rows = series
    .map((s, i) => {
      const y = top + i * (BAR_HEIGHT + GAP) + BAR_HEIGHT / 2;
      const dots = s.points
        .map((v, p) => `<circle cx="${xOf(v).toFixed(1)}" cy="${y}" r="5" fill="${COLORS[p]}"/>`)
        .join("");
      return `<text x="${LABEL_WIDTH - 6}" y="${y + 4}" ${FONT} text-anchor="end">${escapeXml(s.label)}</text>${dots}`;
    })
    .join("");
  return frame(title, width, height, ticks.join("") + rows, names);
}

function formatValue(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (v >= 100) return String(Math.round(v));
  return String(Math.round(v * 100) / 100);
}
