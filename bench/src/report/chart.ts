/**
 * The chart of pairs per second by configuration: one panel per section group (each with its own
 * scale: workloads differ by orders of magnitude), horizontal bars. Laid out once as primitives,
 * then drawn as SVG (here) or PNG (png.ts).
 */
import type { Row } from '../types';

export type Primitive =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill: string; title?: string }
  | { kind: 'text'; x: number; y: number; text: string; size: number; anchor: 'start' | 'end'; bold?: boolean; fill?: string };

export interface ChartLayout {
  width: number;
  height: number;
  items: Primitive[];
}

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
export const MAX_LABEL = 78;

export const COLORS = {
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
export function barColor(r: Row): string {
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

export function chartLayout(rows: readonly Row[], title: string, subtitle: string): ChartLayout {
  const items: Primitive[] = [
    { kind: 'text', x: 12, y: 22, text: title, size: 17, anchor: 'start', bold: true },
    { kind: 'text', x: 12, y: 40, text: subtitle, size: 11, anchor: 'start', fill: '#555555' },
  ];
  let y = TOP;
  for (const g of groupsOf(rows)) {
    items.push({ kind: 'text', x: 12, y: y + 16, text: g.title, size: 14, anchor: 'start', bold: true });
    y += PANEL_TITLE;
    const max = Math.max(...g.rows.map((r) => r.pairsPerSecond), 1e-9);
    for (const r of g.rows) {
      const w = Math.max(1, (r.pairsPerSecond / max) * BAR_MAX);
      const value = `${r.pairsPerSecond >= 100 ? r.pairsPerSecond.toFixed(0) : r.pairsPerSecond.toFixed(1)} pairs/s${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}×)` : ''}`;
      items.push({ kind: 'text', x: LABEL_RIGHT, y: y + BAR_H - 4, text: truncate(r.configuration, MAX_LABEL), size: 11, anchor: 'end' });
      items.push({
        kind: 'rect',
        x: BAR_LEFT,
        y,
        w,
        h: BAR_H,
        fill: barColor(r),
        title: `${r.configuration}: ${r.pairsPerSecond.toFixed(2)} pairs/s, ${r.seconds.toFixed(3)} s for ${r.pairs} pairs`,
      });
      items.push({ kind: 'text', x: BAR_LEFT + w + 6, y: y + BAR_H - 4, text: value, size: 11, anchor: 'start' });
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
  for (const [fill, text] of legend) {
    const w = 30 + text.length * 7;
    if (lx + w > WIDTH) {
      lx = 12;
      y += 20;
    }
    items.push({ kind: 'rect', x: lx, y, w: 12, h: 12, fill });
    items.push({ kind: 'text', x: lx + 16, y: y + 10, text, size: 11, anchor: 'start' });
    lx += w;
  }
  return { width: WIDTH, height: y + 30, items };
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function layoutToSvg(layout: ChartLayout): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
  ];
  for (const p of layout.items) {
    if (p.kind === 'rect') {
      const rect = `<rect x="${p.x.toFixed(1)}" y="${p.y.toFixed(1)}" width="${p.w.toFixed(1)}" height="${p.h.toFixed(1)}" fill="${p.fill}"`;
      out.push(p.title ? `${rect}><title>${escapeXml(p.title)}</title></rect>` : `${rect}/>`);
    } else {
      const attrs = [
        `x="${p.x.toFixed(1)}"`,
        `y="${p.y.toFixed(1)}"`,
        `font-size="${p.size}"`,
        ...(p.anchor === 'end' ? ['text-anchor="end"'] : []),
        ...(p.bold ? ['font-weight="bold"'] : []),
        ...(p.fill ? [`fill="${p.fill}"`] : []),
      ];
      out.push(`<text ${attrs.join(' ')}>${escapeXml(p.text)}</text>`);
    }
  }
  out.push('</svg>', '');
  return out.join('\n');
}
