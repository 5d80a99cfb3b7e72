/**
 * Scraping /metrics in tests: the Prometheus text format parsed by parse-prometheus-text-format
 * (a maintained parser, not ours), and sample lookups by name and labels.
 *
 * That parser folds all series of a histogram into one (it keeps only the last series' buckets and
 * drops the labels, count and sum of labelled histograms), so histograms are read a second time with
 * their TYPE line as untyped: then `x_bucket`, `x_sum` and `x_count` come out as plain series with
 * their labels, still parsed by it. Types are read from the first, unchanged parse.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => Family[];

interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}

export class Scrape {
  /** Every series by its full name (histograms as _bucket, _sum, _count). */
  private readonly series: Family[];

  constructor(
    readonly families: Family[],
    readonly text: string,
  ) {
    this.series = parsePrometheusTextFormat(text.replace(/^(# TYPE \S+) histogram$/gm, '$1 untyped'));
  }

  static async of(url: string): Promise<Scrape> {
    const r = await fetch(url);
    const text = await r.text();
    if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${text}`);
    if (!/^text\/plain; version=0\.0\.4/.test(r.headers.get('content-type') ?? ''))
      throw new Error(`GET ${url}: content-type ${r.headers.get('content-type')}`);
    return new Scrape(parsePrometheusTextFormat(text), text);
  }

  family(name: string): Family | undefined {
    return this.families.find((f) => f.name === name);
  }

  private samples(name: string, labels: Record<string, string>): Sample[] {
    const matches = (s: Sample) => Object.entries(labels).every(([k, v]) => (s.labels?.[k] ?? '') === v);
    // A histogram's series come one label set at a time, so a name starts a family more than once.
    return this.series
      .filter((f) => f.name === name)
      .flatMap((f) => f.metrics)
      .filter(matches);
  }

  /** A counter's or gauge's value (0 when the series does not exist yet). */
  value(name: string, labels: Record<string, string> = {}): number {
    const s = this.samples(name, labels)[0];
    return s?.value === undefined ? 0 : Number(s.value);
  }

  /** A histogram's count, sum and cumulative buckets by `le` (0 when the series does not exist yet). */
  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } {
    const buckets = Object.fromEntries(this.samples(`${name}_bucket`, labels).map((s) => [s.labels?.le ?? '', Number(s.value)]));
    return { count: this.value(`${name}_count`, labels), sum: this.value(`${name}_sum`, labels), buckets };
  }
}
