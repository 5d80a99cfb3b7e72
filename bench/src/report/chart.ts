/**
 * The chart of pairs per second by configuration, as SVG: one panel per section group (each with
 * its own scale: workloads differ by orders of magnitude), horizontal bars.
 */
import type { Row } from '../types';

const WIDTH = 1200;
const LABEL_RIGHT = 560;
const BAR_LEFT = 570;
const BAR_MAX = 400;
const BAR_H = 16;
const GAP = 5;
const PANEL_TITLE = 26;
const PANEL_GAP = 18;
const TOP = 50;
/** Longest label drawn (the table has the full text). */
const MAX_LABEL = 78;

const COLORS = {
  engine: '#1f77b4',
  limit: '#2ca02c',
  otherPlan: '#9e9e9e',
  enginePlan: '#6baed6',
  deviceThread: '#17becf',
  reference: '#ff7f0e',
  transformersJs: '#9467bd',
  other: '#8c564b',
};

/** The colour of a bar, from what its configuration is. */
function barColor(r: Row): string {
  const c = r.configuration.toLowerCase();
  if (r.baseline) return COLORS.limit;
  if (c.startsWith('engine:')) return COLORS.engine;
  if (c.includes('device thread')) return COLORS.deviceThread;
  if (c.startsWith("engine's plan")) return COLORS.enginePlan;
  if (c.startsWith('runtime limit')) return COLORS.otherPlan;
  if (c.startsWith('reference')) return COLORS.reference;
  if (c.startsWith('transformers.js')) return COLORS.transformersJs;
  return COLORS.other;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function groupsOf(rows: readonly Row[]): { title: string; rows: Row[] }[] {
  const groups = new Map<string, { title: string; rows: Row[] }>();
  for (const r of rows) {
    const key = `${r.section}\0${r.group}`;
    let g = groups.get(key);
    if (!g) {
      g = { title: `${r.section} · ${r.group}`, rows: [] };
      groups.set(key, g);
    }
    g.rows.push(r);
  }
  return [...groups.values()];
}

interface TextStyle {
  size: number;
  anchor?: 'end';
  bold?: boolean;
  fill?: string;
}

function text(x: number, y: number, content: string, style: TextStyle): string {
  const attrs = [
    `x="${x.toFixed(1)}"`,
    `y="${y.toFixed(1)}"`,
    `font-size="${style.size}"`,
    ...(style.anchor === 'end' ? ['text-anchor="end"'] : []),
    ...(style.bold ? ['font-weight="bold"'] : []),
    ...(style.fill ? [`fill="${style.fill}"`] : []),
  ];
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string, title?: string): string {
  const r = `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}"`;
  return title ? `${r}><title>${escapeXml(title)}</title></rect>` : `${r}/>`;
}

export function chartSvg(rows: readonly Row[], title: string, subtitle: string): string {
  const items = [text(12, 22, title, { size: 17, bold: true }), text(12, 40, subtitle, { size: 11, fill: '#555555' })];
  let y = TOP;
  for (const g of groupsOf(rows)) {
    items.push(text(12, y + 16, g.title, { size: 14, bold: true }));
    y += PANEL_TITLE;
    const max = Math.max(...g.rows.map((r) => r.pairsPerSecond), 1e-9);
    for (const r of g.rows) {
      const w = Math.max(1, (r.pairsPerSecond / max) * BAR_MAX);
      const value = `${r.pairsPerSecond >= 100 ? r.pairsPerSecond.toFixed(0) : r.pairsPerSecond.toFixed(1)} pairs/s${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}×)` : ''}`;
      items.push(text(LABEL_RIGHT, y + BAR_H - 4, truncate(r.configuration, MAX_LABEL), { size: 11, anchor: 'end' }));
      items.push(
        rect(
          BAR_LEFT,
          y,
          w,
          BAR_H,
          barColor(r),
          `${r.configuration}: ${r.pairsPerSecond.toFixed(2)} pairs/s, ${r.seconds.toFixed(3)} s for ${r.pairs} pairs`,
        ),
      );
      items.push(text(BAR_LEFT + w + 6, y + BAR_H - 4, value, { size: 11 }));
      y += BAR_H + GAP;
    }
    y += PANEL_GAP;
  }
  const legend: [string, string][] = [
    [COLORS.engine, 'engine'],
    [COLORS.limit, 'runtime limit (best plan, 1.00×)'],
    [COLORS.otherPlan, 'other limit plans'],
    [COLORS.enginePlan, "engine's plan on the runtime"],
    [COLORS.deviceThread, 'through the device thread'],
    [COLORS.reference, 'reference plan'],
    [COLORS.transformersJs, 'transformers.js'],
  ];
  let lx = 12;
  for (const [fill, label] of legend) {
    const w = 30 + label.length * 7;
    if (lx + w > WIDTH) {
      lx = 12;
      y += 20;
    }
    items.push(rect(lx, y, 12, 12, fill), text(lx + 16, y + 10, label, { size: 11 }));
    lx += w;
  }
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    ...items,
    '</svg>',
    '',
  ].join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
