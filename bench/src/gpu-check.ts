/**
 * The GPU check (scripts/gpu-check.sh runs it on a GPU machine; `--device cpu` dry-runs every step on
 * the CPU): generated models of all four families scored on the device in fp32 and fp16 against the
 * CPU, the engine timed beside the runtime's limit on the device, and a 10,000-document job with the
 * worker on the device. Prints a Markdown report (and writes it with --out); exit status 1 when a
 * check fails.
 *
 *   node dist/bench/src/gpu-check.js [--device cuda:0] [--quick] [--out FILE] [--cache-dir DIR]
 *
 * Tolerances: fp32 on the device within FP32_TOLERANCE of the CPU's scores; fp16 within
 * FP16_TOLERANCE × max(1, |score|), and every query's ranking the same as the CPU's except between
 * documents whose CPU scores are closer than twice that (a tie at fp16's precision).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoReranker, type Device, deviceName, FlagReranker, parseDevice, readModelFiles } from '@rerank/engine';
import { type Family, makeCorpus, makeTestModel } from '@rerank/model-gen';
import { defaultMaxBatchTokens } from '../../libs/engine/src/options';
import { TextTokenizer } from '../../libs/engine/src/tokenization/text-tokenizer';
import { disturbance, fmt, measure } from './measure';
import { benchModel } from './models';
import { type GraphFeeding, MainThreadRunner, maxAbsDiff, prepareBatches, toEncoded } from './runtime/direct';
import { enginePlan, type Plan, tokenBudgetPlan } from './runtime/plans';
import { jobWorkload, MODEL_NAME } from './sections/system';
import { Stack, threadsEnv } from './stack/stack';

export const FP32_TOLERANCE = 1e-4;
export const FP16_TOLERANCE = 2e-2;
const FAMILIES: readonly Family[] = ['encoder', 'llm', 'layerwise', 'lightweight'];
const THREADS = 2;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Scores per pair, one number each (a layer-wise family's last listed layer). */
function flat(rows: readonly (number | number[])[]): number[] {
  return rows.map((r) => (Array.isArray(r) ? r[r.length - 1] : r));
}

/** Pairs whose order differs from the reference's, among those the reference separates by more than `gap`. */
function rankingInversions(reference: readonly number[], other: readonly number[], groups: readonly number[][], gap: number): number {
  let inversions = 0;
  for (const g of groups) for (const i of g) for (const j of g) if (reference[i] - reference[j] > gap && other[i] <= other[j]) inversions++;
  return inversions;
}

/** Every family on the CPU (fp32) and on the device in fp32 and fp16: 4 queries × 16 documents each. */
async function fidelity(device: Device, root: string, checks: Check[], lines: string[]): Promise<void> {
  const corpus = makeCorpus(11, { lengths: 'realistic' });
  const queries = Array.from({ length: 4 }, () => corpus.query());
  const docs = Array.from({ length: 16 }, () => corpus.passage());
  const pairs = queries.flatMap((q) => docs.map((d) => [q, d] as [string, string]));
  const groups = queries.map((_, qi) => docs.map((_d, di) => qi * docs.length + di));
  lines.push('## Scores: the device against the CPU', '', `${pairs.length} pairs (4 queries × 16 documents), raw scores.`, '');
  lines.push('| family | device fp32: max abs diff | device fp16: max abs diff | fp16 ranking inversions |', '|---|---|---|---|');
  for (const family of FAMILIES) {
    const info = await makeTestModel({ family, outDir: join(root, family), preset: 'tiny', seed: 3, fp16: true });
    const score = async (devices: Device[], useFp16: boolean) => {
      const r = await AutoReranker.fromFinetuned(info.dir, { devices: devices.map(deviceName), useFp16, intraOpNumThreads: THREADS });
      try {
        return flat(await r.score(pairs));
      } finally {
        await r.close();
      }
    };
    const cpu = await score([{ kind: 'cpu' }], false);
    const fp32 = await score([device], false);
    const fp16 = await score([device], true);
    // The layer-wise family runs its fp16 graph on a GPU whatever useFp16 says, as the reference forces half precision there.
    const fp32IsHalf = family === 'layerwise' && device.kind === 'cuda';
    const d32 = maxAbsDiff(cpu, fp32);
    const within16 = cpu.every((s, i) => Math.abs(s - fp16[i]) <= FP16_TOLERANCE * Math.max(1, Math.abs(s)));
    const inversions = rankingInversions(cpu, fp16, groups, 2 * FP16_TOLERANCE * Math.max(1, ...cpu.map(Math.abs)));
    checks.push({
      name: `${family} fp32`,
      ok: fp32IsHalf ? cpu.every((s, i) => Math.abs(s - fp32[i]) <= FP16_TOLERANCE * Math.max(1, Math.abs(s))) : d32 <= FP32_TOLERANCE,
      detail: `max |Δ| ${d32.toExponential(2)}${fp32IsHalf ? ' (fp16 graph on a GPU)' : ''}`,
    });
    checks.push({
      name: `${family} fp16`,
      ok: within16 && inversions === 0,
      detail: `max |Δ| ${maxAbsDiff(cpu, fp16).toExponential(2)}, ${inversions} inversions`,
    });
    lines.push(
      `| ${family} | ${d32.toExponential(2)}${fp32IsHalf ? ' (fp16 graph)' : ''} | ${maxAbsDiff(cpu, fp16).toExponential(2)} | ${inversions} |`,
    );
  }
  lines.push('');
}

/** The engine against the runtime's limit on the device: a MiniLM-size cross-encoder, pre-built batches on a session of its own. */
async function speed(device: Device, cacheDir: string, n: number, checks: Check[], lines: string[]): Promise<void> {
  const model = await benchModel(cacheDir, 'encoder', 'minilm');
  const pairs = makeCorpus(5, { lengths: 'realistic' }).pairs(n);
  const engine = new FlagReranker(model.dir, { devices: [deviceName(device)], intraOpNumThreads: THREADS });
  const files = readModelFiles(model.dir);
  const tokenizer = new TextTokenizer(files);
  const runner = await MainThreadRunner.open(files.graph, 'logits', THREADS, undefined, device);
  try {
    let engineScores: number[] = [];
    const mEngine = await measure(
      async () => {
        engineScores = await engine.computeScore(pairs);
      },
      { runs: 3 },
    );
    const encoded = toEncoded(await engine.inspectInputs(pairs));
    const lengths = Int32Array.from(encoded, (p) => p.ids.length);
    const names = runner.inputNames;
    const feeding: GraphFeeding = {
      path: files.graph,
      output: 'logits',
      padId: tokenizer.padId,
      side: 'right',
      inputs: { tokenTypeIds: names.includes('token_type_ids'), positionIds: names.includes('position_ids'), lengths: false },
    };
    const limits = { batchSize: 128, maxBatchTokens: defaultMaxBatchTokens([device]), padMultiple: 1 };
    const plans: Plan[] = [
      enginePlan(`engine's plan (≤${limits.maxBatchTokens} tokens, ≤128 rows)`, lengths, limits),
      ...[16384, 32768, 131072].map((t) => tokenBudgetPlan(`≤${t} tokens, ≤256 rows`, lengths, t, 256)),
    ];
    lines.push('## Speed: the engine beside the runtime on the device', '');
    lines.push(`MiniLM-size cross-encoder (${(model.parameterCount / 1e6).toFixed(1)} M parameters), ${n} pairs, median of 3 runs.`, '');
    lines.push('| configuration | pairs/s | max abs diff to the engine |', '|---|---|---|');
    lines.push(`| engine: computeScore (tokenization included) | ${fmt(n / mEngine.seconds, 0)} | 0 |`);
    let best = 0;
    for (const plan of plans) {
      const batches = prepareBatches(encoded, plan, feeding).batches;
      let scores: Float64Array = new Float64Array(0);
      const m = await measure(
        async () => {
          scores = await runner.score(batches, n);
        },
        { runs: 3 },
      );
      best = Math.max(best, n / m.seconds);
      lines.push(
        `| runtime limit, ${plan.name}: pre-built batches, session.run only | ${fmt(n / m.seconds, 0)} | ${maxAbsDiff(engineScores, scores).toExponential(1)} |`,
      );
    }
    const ratio = n / mEngine.seconds / best;
    lines.push('', `Engine / runtime limit (the fastest plan): **${ratio.toFixed(2)}×**.`, '');
    checks.push({
      name: 'engine speed',
      ok: true,
      detail: `${fmt(n / mEngine.seconds, 0)} pairs/s, ${ratio.toFixed(2)}× the runtime's limit`,
    });
  } finally {
    await Promise.all([engine.close(), runner.close()]);
  }
}

/** A job (10,000 documents unless --quick) through API, Redis and a worker on the device, against the engine in this process on the device. */
async function job(device: Device, cacheDir: string, documents: number, checks: Check[], lines: string[]): Promise<void> {
  const model = await benchModel(cacheDir, 'encoder', 'minilm');
  const w = jobWorkload('minilm', documents, 1);
  // The apps get a clean environment: the machine's CUDA libraries (scripts/gpu-check.sh) go along by name.
  const ld = process.env.LD_LIBRARY_PATH;
  const stack = await Stack.start({
    model: { name: MODEL_NAME, path: model.dir },
    resultTtlSeconds: 600,
    env: ld ? { LD_LIBRARY_PATH: ld } : {},
  });
  const engine = new FlagReranker(model.dir, { devices: [deviceName(device)], intraOpNumThreads: THREADS });
  try {
    await stack.startWorkers([deviceName(device)], threadsEnv(THREADS));
    const t = performance.now();
    const { id } = await stack.submit(w.body);
    await stack.waitCompleted(id, 50);
    const seconds = (performance.now() - t) / 1000;
    const [scores] = await stack.allScores(id, 1);
    await engine.computeScore(w.pairs.slice(0, 256));
    const t2 = performance.now();
    const own = await engine.computeScore(w.pairs);
    const ownSeconds = (performance.now() - t2) / 1000;
    const diff = maxAbsDiff(own, scores);
    lines.push(`## A ${documents.toLocaleString('en-US')}-document job with the worker on the device`, '');
    lines.push('| configuration | seconds | pairs/s |', '|---|---|---|');
    lines.push(
      `| job: POST → completed, API → Redis → 1 worker on ${deviceName(device)} → aggregator | ${fmt(seconds)} | ${fmt(documents / seconds, 0)} |`,
    );
    lines.push(
      `| engine in this process on ${deviceName(device)}, one computeScore | ${fmt(ownSeconds)} | ${fmt(documents / ownSeconds, 0)} |`,
    );
    lines.push('', `Every score of the job against the engine's: max |Δ| ${diff.toExponential(2)}.`, '');
    checks.push({
      name: `${documents.toLocaleString('en-US')}-document job`,
      ok: scores.length === documents && diff <= FP32_TOLERANCE,
      detail: `${fmt(seconds)} s, max |Δ| ${diff.toExponential(2)}`,
    });
  } finally {
    await engine.close();
    await stack.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { device: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, 'cache-dir': { type: 'string' } },
  });
  const device = parseDevice(values.device ?? 'cuda:0');
  // A dry run on the CPU checks the steps, not the speed: no waiting for a quiet machine to time again.
  if (device.kind === 'cpu') disturbance.retries = 0;
  const cacheDir = resolve(values['cache-dir'] ?? '.cache/bench-models');
  const root = join(cacheDir, 'gpu-check');
  const checks: Check[] = [];
  const lines = [
    `# GPU check on ${deviceName(device)}`,
    '',
    `\`${['node dist/bench/src/gpu-check.js', ...process.argv.slice(2)].join(' ')}\`, ${new Date().toISOString()}`,
    '',
  ];
  const step = (m: string) => process.stderr.write(`[gpu-check] ${m}\n`);
  step('scores of the four families, CPU against the device in fp32 and fp16');
  await fidelity(device, root, checks, lines);
  step('the engine beside the runtime on the device');
  await speed(device, cacheDir, values.quick ? 64 : 4000, checks, lines);
  const documents = values.quick ? 300 : 10000;
  step(`a ${documents}-document job with the worker on the device`);
  await job(device, cacheDir, documents, checks, lines);
  lines.push(
    '## Checks',
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.name} | ${c.ok ? 'pass' : '**FAIL**'} | ${c.detail} |`),
    '',
  );
  const report = lines.join('\n');
  process.stdout.write(report);
  if (values.out) {
    mkdirSync(dirname(resolve(values.out)), { recursive: true });
    writeFileSync(values.out, report);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

void main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`gpu-check: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
