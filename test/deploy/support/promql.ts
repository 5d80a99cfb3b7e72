/**
 * PromQL held against the metric catalogue: parsed with Prometheus's own grammar
 * (@prometheus-io/lezer-promql, the parser of the Prometheus UI), then every selector must name a
 * catalogued metric (a histogram as _bucket, _sum or _count), every matcher and grouping label must
 * be one of its labels, and values of closed label sets (state, outcome, queue) must exist.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { MetricSpec } from '../../../libs/jobs/src/observability/metric-catalogue';

/** Labels Prometheus attaches to every scraped series (the Prometheus Operator's target labels). */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'service', 'pod', 'container', 'endpoint'];

/** Grafana's built-in interval variables, which are not PromQL: replaced by a duration before parsing. */
const GRAFANA_INTERVALS = /\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}/g;

export interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

export interface PromqlReport {
  selectors: Selector[];
  /** Labels named in by/without/on/ignoring/group_left/group_right. */
  grouping: string[];
  /** What does not hold together; empty when the expression is fine. */
  problems: string[];
}

const text = (src: string, n: { from: number; to: number }): string => src.slice(n.from, n.to);

export function checkPromql(expr: string, catalogue: readonly MetricSpec[]): PromqlReport {
  const src = expr.replace(GRAFANA_INTERVALS, '5m');
  const problems: string[] = [];
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const tree = parser.parse(src);
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) problems.push(`syntax error at ${ref.from}: "${src.slice(Math.max(0, ref.from - 20), ref.from + 20)}"`);
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const id = node.getChild('Identifier');
        const matchers = node.getChild('LabelMatchers');
        const selector: Selector = { metric: id ? text(src, id) : '', matchers: [] };
        for (const m of matchers ? [...matchers.getChildren('UnquotedLabelMatcher'), ...matchers.getChildren('QuotedLabelMatcher')] : []) {
          const label = m.getChild('LabelName');
          const op = m.getChild('MatchOp');
          const value = m.getChild('StringLiteral');
          if (!label || !op || !value) continue;
          selector.matchers.push({
            label: text(src, label),
            op: text(src, op),
            value: JSON.parse(text(src, value).replace(/^'|'$/g, '"')) as string,
          });
        }
        selectors.push(selector);
      }
      if (ref.name === 'GroupingLabels') {
        for (const l of ref.node.getChildren('LabelName')) grouping.push(text(src, l));
      }
    },
  });
  if (selectors.length === 0) problems.push('no metric selector');

  const byName = new Map(catalogue.map((m) => [m.name, m]));
  const usable = new Set(TARGET_LABELS);
  for (const s of selectors) {
    const found = resolve(s.metric, byName);
    if (!found) {
      problems.push(`${s.metric || '(no name)'}: not in the metric catalogue`);
      continue;
    }
    const labels = new Set([...found.spec.labels, ...(found.bucket ? ['le'] : [])]);
    for (const l of labels) usable.add(l);
    for (const m of s.matchers) {
      if (!labels.has(m.label) && !TARGET_LABELS.includes(m.label)) {
        problems.push(`${s.metric}: no label "${m.label}" (labels: ${[...labels].join(', ')})`);
        continue;
      }
      const allowed = found.spec.values?.[m.label];
      if (!allowed) continue;
      for (const v of literalValues(m.op, m.value)) {
        if (!allowed.includes(v)) problems.push(`${s.metric}: ${m.label}="${v}" is not one of ${allowed.join(', ')}`);
      }
    }
  }
  for (const g of grouping) if (!usable.has(g)) problems.push(`grouping label "${g}" is on none of the metrics used`);
  return { selectors, grouping, problems };
}

/** A catalogue entry for a series name: itself, or a histogram's _bucket/_sum/_count. */
export function resolve(name: string, byName: Map<string, MetricSpec>): { spec: MetricSpec; bucket: boolean } | undefined {
  const direct = byName.get(name);
  if (direct) return direct.type === 'histogram' ? undefined : { spec: direct, bucket: false };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m ? byName.get(m[1]) : undefined;
  return base?.type === 'histogram' ? { spec: base, bucket: m![2] === 'bucket' } : undefined;
}

/**
 * The label values a matcher names: `=` its value; `=~` the alternatives of a plain `a|b|c`
 * (regexes with other syntax, and the negative matchers, name none: nothing to check).
 */
function literalValues(op: string, value: string): string[] {
  if (op === '=') return [value];
  if (op === '=~' && /^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$/.test(value)) return value.split('|');
  return [];
}
