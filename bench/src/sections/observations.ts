/**
 * What a model section derives from its rows and raw metrics: the ratios between configurations
 * (headline metrics) and observations on where the engine's time goes against the runtime's limit.
 * Computed at render time, so a report re-rendered from saved results (`--report-from`) gets them
 * too and the saved JSON holds only measurements.
 */
import { fmt, median } from '../measure';
import type { Metric, Row, SectionResult } from '../types';
import { CONFIG, FUSED, FUSED_DIFF, INT8, TENSOR_TIME, TOKENIZER_TIME } from './names';

export { TENSOR_TIME, TOKENIZER_TIME };

/** Metric names this module writes (and, for results saved by earlier versions, replaces). */
const DERIVED = new Set([
  'engine / runtime limit',
  'engine / transformers.js',
  'engine / reference plan (runtime only)',
  'engine / reference end to end',
  "engine's plan on the runtime / runtime limit",
  "engine / engine's plan on the runtime",
  "device thread / main thread, engine's plan",
  "engine with the limit plan's bounds / runtime limit",
  "tokenizer's share of the engine's time",
  "tensor building's share of the engine's time",
  "engine's plan on the runtime / engine (time)",
  "device-thread hand-off (engine's plan, worker − main thread)",
  FUSED.engineVsLimit,
  FUSED.limitVsPlain,
  FUSED.engineVsPlain,
  INT8.speed,
]);

const ENGINE = CONFIG.engine;

/**
 * The speed of `a` over `b`. Rows timed alternating (same `alternation`, same number of runs): the
 * median of the per-round ratios, with the rounds; otherwise the ratio of the medians.
 */
export function speedRatio(a: Row, b: Row): { value: number; rounds?: number[]; ofMedians: number } {
  const ofMedians = a.pairsPerSecond / b.pairsPerSecond;
  if (a.alternation && a.alternation === b.alternation && a.runs && b.runs && a.runs.length === b.runs.length && a.runs.length > 0) {
    const rounds = a.runs.map((x, i) => ((b.runs as number[])[i] / x) * (a.pairs / b.pairs));
    return { value: median(rounds), rounds, ofMedians };
  }
  return { value: ofMedians, ofMedians };
}

/** "median of 3 A/B rounds (0.98, 1.01, 0.97); ratio of the medians 0.99", or nothing when not alternated. */
function roundsNote(r: ReturnType<typeof speedRatio>): string {
  if (!r.rounds) return '';
  return `median of ${r.rounds.length} A/B round${r.rounds.length === 1 ? '' : 's'} (${r.rounds.map((x) => fmt(x, 3)).join(', ')}); ratio of the medians ${fmt(r.ofMedians, 3)}`;
}

function metricValue(metrics: readonly Metric[], name: string): number | undefined {
  const m = metrics.find((x) => x.name === name);
  if (!m) return undefined;
  const v = typeof m.value === 'number' ? m.value : Number(String(m.value).replace(/,/g, ''));
  return Number.isFinite(v) ? v : undefined;
}

/** Relative spread (max − min) / median of a row's timed runs. */
function spread(r: Row): number | undefined {
  if (!r.runs || r.runs.length < 2) return undefined;
  const s = [...r.runs].sort((a, b) => a - b);
  return (s[s.length - 1] - s[0]) / r.seconds;
}

function groupsInOrder(result: SectionResult): string[] {
  const order: string[] = [];
  for (const x of [...result.rows, ...result.metrics]) if (!order.includes(x.group)) order.push(x.group);
  return order;
}

export function deriveObservations(result: SectionResult): void {
  const observations: string[] = [];
  const metrics: Metric[] = [];
  for (const group of groupsInOrder(result)) {
    const rows = result.rows.filter((r) => r.group === group);
    const raw = result.metrics.filter((m) => m.group === group && !DERIVED.has(m.name));
    const derived: Metric[] = [];
    const add = (name: string, value: number, unit = '×', notes?: string, headline = false) =>
      derived.push({
        group,
        name,
        value: fmt(value, unit === '%' ? 1 : 3),
        unit,
        ...(notes ? { notes } : {}),
        ...(headline ? { headline } : {}),
      });
    const find = (prefix: string) => rows.find((r) => r.configuration.startsWith(prefix));
    const engine = rows.find((r) => r.configuration === ENGINE);
    const limit = rows.find((r) => r.baseline);
    const tjs = find('transformers.js');
    const ref = find('reference plan');
    const refEnd = find('reference end to end');
    const planMain = find("engine's plan on the runtime, main thread");
    const planWorker = find("engine's plan through the engine's device thread");
    const tuned = find('engine: computeScore, batchSize');
    const tokSeconds = metricValue(raw, TOKENIZER_TIME);
    const tensorSeconds = metricValue(raw, TENSOR_TIME);
    const engineVsLimit = engine && limit ? speedRatio(engine, limit) : undefined;
    if (engineVsLimit && limit)
      add(
        'engine / runtime limit',
        engineVsLimit.value,
        '×',
        [`limit: ${limit.configuration.replace(/^runtime limit \(best\): /, '')}`, roundsNote(engineVsLimit)].filter(Boolean).join('; '),
        true,
      );
    const engineFused = rows.find((r) => r.configuration === CONFIG.engineFused);
    const limitFused = rows.find((r) => r.configuration.startsWith(`${CONFIG.limitFusedPrefix} (best)`));
    const fusedVsLimit = engineFused && limitFused ? speedRatio(engineFused, limitFused) : undefined;
    const fusedLimitVsPlain = limitFused && limit ? speedRatio(limitFused, limit) : undefined;
    const fusedEngineVsPlain = engineFused && engine ? speedRatio(engineFused, engine) : undefined;
    if (fusedVsLimit) add(FUSED.engineVsLimit, fusedVsLimit.value, '×', roundsNote(fusedVsLimit) || undefined, true);
    if (fusedLimitVsPlain) add(FUSED.limitVsPlain, fusedLimitVsPlain.value, '×', roundsNote(fusedLimitVsPlain) || undefined, true);
    if (fusedEngineVsPlain) add(FUSED.engineVsPlain, fusedEngineVsPlain.value, '×', roundsNote(fusedEngineVsPlain) || undefined);
    const fp32 = rows.find((r) => r.configuration === INT8.fp32);
    const int8 = rows.find((r) => r.configuration === INT8.int8);
    const int8Speed = fp32 && int8 ? speedRatio(int8, fp32) : undefined;
    if (int8Speed) add(INT8.speed, int8Speed.value, '×', roundsNote(int8Speed) || undefined, true);
    if (engine && tjs) add('engine / transformers.js', engine.pairsPerSecond / tjs.pairsPerSecond, '×', undefined, true);
    if (engine && ref) add('engine / reference plan (runtime only)', engine.pairsPerSecond / ref.pairsPerSecond, '×', undefined, true);
    if (engine && refEnd) add('engine / reference end to end', engine.pairsPerSecond / refEnd.pairsPerSecond);
    if (planMain && limit)
      add(
        "engine's plan on the runtime / runtime limit",
        planMain.pairsPerSecond / limit.pairsPerSecond,
        '×',
        'the cost of the batch shapes alone',
      );
    if (engine && planMain)
      add(
        "engine / engine's plan on the runtime",
        engine.pairsPerSecond / planMain.pairsPerSecond,
        '×',
        'the cost of everything but the batch shapes (tokenizing, tensors, hand-off)',
      );
    if (planWorker && planMain)
      add(
        "device thread / main thread, engine's plan",
        planWorker.pairsPerSecond / planMain.pairsPerSecond,
        '×',
        "pre-built batches both: the hand-off to the engine's worker thread",
      );
    if (tuned && limit)
      add(
        "engine with the limit plan's bounds / runtime limit",
        tuned.pairsPerSecond / limit.pairsPerSecond,
        '×',
        tuned.configuration.replace('engine: computeScore, ', ''),
      );
    if (engine && tokSeconds !== undefined)
      add("tokenizer's share of the engine's time", (100 * tokSeconds) / engine.seconds, '%', undefined, true);
    if (engine && tensorSeconds !== undefined)
      add("tensor building's share of the engine's time", (100 * tensorSeconds) / engine.seconds, '%');
    metrics.push(...derived, ...raw);

    if (int8Speed && int8 && fp32) {
      const v = (name: string) => raw.find((m) => m.name === name)?.value;
      observations.push(
        `**${group}**: the int8 graph scores ${fmt(int8Speed.value, 2)}× the fp32 graph's pairs/s through the engine (${fmt(int8.pairsPerSecond, 1)} vs ${fmt(fp32.pairsPerSecond, 1)}${int8Speed.rounds ? `, ${roundsNote(int8Speed)}` : ''}). ` +
          `Drift: scores differ by ${v(INT8.meanDiff)} on average (at most ${v(INT8.maxDiff)}); per query the rankings correlate at Spearman ρ ${v(INT8.spearman)} on average and share ${v(INT8.overlap)} of their top 10. ` +
          'The engine offers it as an option (`quantized: true`), not as a default.',
      );
    }
    if (!engine || !limit || !engineVsLimit) continue;
    const parts: string[] = [
      `**${group}**: the engine reaches ${fmt(engineVsLimit.value, 2)} of the runtime's limit (${fmt(engine.pairsPerSecond, 1)} vs ${fmt(limit.pairsPerSecond, 1)} pairs/s${engineVsLimit.rounds ? `; ${roundsNote(engineVsLimit)}` : ''}).`,
    ];
    if (fusedVsLimit && fusedLimitVsPlain && engineFused && limitFused) {
      parts.push(
        `On the fused graph the runtime's limit itself rises to ${fmt(fusedLimitVsPlain.value, 2)}× the plain graph's (${fmt(limitFused.pairsPerSecond, 1)} pairs/s), and the engine reaches ${fmt(fusedVsLimit.value, 2)} of that fused limit` +
          (fusedEngineVsPlain ? ` (${fmt(fusedEngineVsPlain.value, 2)}× the engine on the plain graph)` : '') +
          `; its scores differ from the plain graph's by at most ${raw.find((m) => m.name === FUSED_DIFF)?.value ?? '?'}.`,
      );
    }
    if (planMain) {
      const effEngine = metricValue(raw, "padding efficiency, engine's plan");
      const effBest = metricValue(raw, 'padding efficiency, best limit plan');
      parts.push(
        `Batch shapes: the engine's own plan on the bare runtime reaches ${fmt(planMain.pairsPerSecond / limit.pairsPerSecond, 2)} of the limit` +
          (effEngine !== undefined && effBest !== undefined ? ` (padding efficiency ${fmt(effEngine, 3)} vs ${fmt(effBest, 3)})` : '') +
          `. Everything else (tokenizing on the main thread while the runtime computes, building tensors, the device-thread hand-off): the engine reaches ${fmt(engine.pairsPerSecond / planMain.pairsPerSecond, 2)} of its own plan on the bare runtime.`,
      );
    }
    if (planWorker && planMain)
      parts.push(
        `The same plan through the engine's device thread (pre-built batches) reaches ${fmt(planWorker.pairsPerSecond / planMain.pairsPerSecond, 2)} of the main-thread run.`,
      );
    if (tuned)
      parts.push(
        `With the limit plan's bounds as options (${tuned.configuration.replace('engine: computeScore, ', '')}) the engine reaches ${fmt(tuned.pairsPerSecond / limit.pairsPerSecond, 2)} of the limit.`,
      );
    if (tokSeconds !== undefined)
      parts.push(`Tokenizing every text takes ${fmt((100 * tokSeconds) / engine.seconds, 1)} % of the engine's time.`);
    const spreads = rows.map(spread).filter((x): x is number => x !== undefined);
    if (spreads.length)
      parts.push(
        `Run-to-run spread of the rows timed several times: up to ${fmt(100 * Math.max(...spreads), 0)} % ((max − min) / median): differences smaller than that are within this machine's noise.`,
      );
    const disturbed = rows.filter((r) => (r.foreignCores ?? 0) > 0.1);
    if (disturbed.length)
      parts.push(
        `Other processes took more than 0.1 cores during ${disturbed.map((r) => `*${r.configuration}*`).join(', ')} (column *others' CPU*): read those rows with care.`,
      );
    observations.push(parts.join(' '));
  }
  result.metrics = metrics;
  result.observations = observations;
}
