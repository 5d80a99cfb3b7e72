/**
 * What a benchmark section returns and what the harness gives it. Sections are independent modules
 * registered in sections/index.ts; the report renders whatever rows, metrics and notes they return.
 */

/** One measured configuration: a table row and a bar of the chart. */
export interface Row {
  /** Section id (`engine`, `llm`, ...). */
  section: string;
  /** Rows of one group share a workload and a baseline: a table each, a chart panel each. */
  group: string;
  configuration: string;
  /** Pairs scored per run. */
  pairs: number;
  /** Median seconds of the timed runs. */
  seconds: number;
  pairsPerSecond: number;
  /** pairsPerSecond over the group baseline's (filled in by `withRatios`). */
  ratio?: number;
  /** This row is the group's baseline (ratio 1). */
  baseline?: boolean;
  /** Every timed run, seconds. */
  runs?: number[];
  /**
   * Rows timed alternating (A/B/A/B) share this id: `runs[i]` of each was timed in round i, so the
   * ratio of two such rows can be taken round by round (the median of those is the headline ratio).
   */
  alternation?: string;
  /** The most cores other processes kept busy during one of the kept timed runs (a shared machine). */
  foreignCores?: number;
  /** Timed runs discarded and repeated because other processes disturbed them. */
  discarded?: number;
  notes: string;
}

/** A free-form figure: padding efficiency, a share of time, a score difference, a memory size... */
export interface Metric {
  group: string;
  name: string;
  value: number | string;
  unit?: string;
  notes?: string;
  /** Shown in the section's summary table too (one column per headline metric name). */
  headline?: boolean;
}

export interface SectionResult {
  id: string;
  title: string;
  /** Markdown paragraphs under the section heading: what is measured and how. */
  description: string[];
  rows: Row[];
  metrics: Metric[];
  /** Markdown bullets after the tables: caveats, skipped parts. */
  notes: string[];
  /** Markdown bullets derived from the numbers (`Section.derive`), recomputed when a report is re-rendered. */
  observations?: string[];
}

export interface BenchOptions {
  quick: boolean;
  /** Every configuration on every workload (hours on a 2-core machine). */
  complete: boolean;
  /** Section ids to run, in order. */
  sections: string[];
  /** The runtime's intra-op thread count, everywhere. */
  threads: number;
  /** Markdown file to write. */
  out: string;
  /** `--out` was given (else the mode's default). */
  outGiven?: boolean;
  /** Re-render the report from saved results (bench/results/<mode>.json) instead of measuring. */
  reportFrom?: string;
  /** Timed runs per measurement (median reported); a warm-up run precedes them. */
  runs: number;
  /** Where generated models are kept between runs. */
  cacheDir: string;
  /** Override of the encoder pair counts (`--pairs 2000,10000`). */
  pairCounts?: number[];
  /** Override of the encoder model sizes (`--models minilm,base`). */
  models?: string[];
}

/** What the harness hands every section. */
export interface BenchContext {
  options: BenchOptions;
  /** Progress lines to stderr (the report is written at the end). */
  log: (message: string) => void;
}

export interface Section {
  id: string;
  title: string;
  /** One line for `--help`. */
  summary: string;
  run(ctx: BenchContext): Promise<SectionResult>;
  /** Fills `observations` from the rows and metrics (also on results loaded by `--report-from`). */
  derive?(result: SectionResult): void;
}
