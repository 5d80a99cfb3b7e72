import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagLLMReranker, LayerWiseFlagLLMReranker, FlagReranker } from '@rerank/engine';
import { makeCorpus } from '@rerank/model-gen';
import { waitFor } from '../support/processes';

/** The `rerank` command as users run it (`npx rerank` resolves to bin/rerank.js, which runs dist/). */
const BIN = join(__dirname, '..', '..', 'bin', 'rerank.js');
const rerank = (args: string[], input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 60_000 });

describe('rerank command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pairs = makeCorpus(5).pairs(50);
  const jsonl = pairs.map(([query, passage]) => JSON.stringify({ query, passage })).join('\n') + '\n';

  test('make-test-model writes a model; score prints one line per pair, equal to the engine in-process', async () => {
    const made = rerank(['make-test-model', '--family', 'encoder', '--out', join(dir, 'enc'), '--seed', '4']);
    expect(made.status).toBe(0);
    expect(made.stdout).toMatch(/generated encoder test model, 2 layers, hidden 32/);

    const fromStdin = rerank(['score', '--model', join(dir, 'enc'), '--normalize'], jsonl);
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.status).toBe(0);
    const lines = fromStdin.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const engine = new FlagReranker(join(dir, 'enc'), { normalize: true });
    const expected = await engine.computeScore(pairs);
    await engine.close();
    expect(lines).toEqual(expected.map((score, index) => ({ index, score })));

    writeFileSync(join(dir, 'pairs.jsonl'), jsonl);
    const fromFile = rerank(['score', '--model', join(dir, 'enc'), '--normalize', join(dir, 'pairs.jsonl'), '--stats']);
    expect(fromFile.stdout).toBe(fromStdin.stdout);
    expect(fromFile.stderr).toMatch(/^scored 50 pairs in [\d.]+ s \([\d.]+ pairs\/s, model loading excluded\)/);
  });

  test('several cutoff layers print a list per pair', async () => {
    expect(rerank(['make-test-model', '--family', 'layerwise', '--out', join(dir, 'lw'), '--layers', '3']).status).toBe(0);
    const out = rerank(['score', '--model', join(dir, 'lw'), '--cutoff-layers', '1,3'], jsonl);
    expect(out.status).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const engine = new LayerWiseFlagLLMReranker(join(dir, 'lw'));
    const [l1, l3] = (await engine.computeScore(pairs, { cutoffLayers: [1, 3] })) as number[][];
    await engine.close();
    expect(lines).toEqual(pairs.map((_, index) => ({ index, score: [l1[index], l3[index]] })));
  });

  test('score writes each chunk as soon as it is scored, before the input has ended, in input order', async () => {
    // 'enc' is made by the first test.
    const child = spawn(process.execPath, [BIN, 'score', '--model', join(dir, 'enc'), '--chunk-size', '4'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const lines = jsonl.split('\n');
    // Ten pairs: two full chunks read, so the first chunk's four lines must come out while stdin stays open.
    child.stdin.write(lines.slice(0, 10).join('\n') + '\n');
    const early = await waitFor('the first chunk on stdout', async () => (out.split('\n').length > 4 ? out : undefined), 60_000);
    expect(child.exitCode).toBeNull();
    expect(
      early
        .trim()
        .split('\n')
        .slice(0, 4)
        .map((l) => JSON.parse(l).index),
    ).toEqual([0, 1, 2, 3]);
    child.stdin.end(lines.slice(10).join('\n'));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    const engine = new FlagReranker(join(dir, 'enc'));
    const expected = await engine.computeScore(pairs);
    await engine.close();
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(expected.map((score, index) => ({ index, score })));
  });

  test('score shows progress on stderr when it is a terminal, and nothing when it is not', () => {
    writeFileSync(join(dir, 'progress.jsonl'), jsonl);
    const args = ['score', '--model', join(dir, 'enc'), '--chunk-size', '8', join(dir, 'progress.jsonl')];
    // `script` runs the command on a pseudo-terminal (its stdout and stderr both go there).
    const tty = spawnSync('script', ['-qec', [process.execPath, BIN, ...args].map((a) => JSON.stringify(a)).join(' '), '/dev/null'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/scoring .* 50\/50 pairs \| [\d.]+ pairs\/s/);
    expect(tty.stdout).toContain('{"index":49,"score":');
    const piped = rerank(args);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout.trim().split('\n')).toHaveLength(50);
  });

  test('mistakes exit 2 with a message that says what to fix', () => {
    const noModel = rerank(['score'], '');
    expect(noModel.status).toBe(2);
    expect(noModel.stderr).toMatch(/--model is required/);
    const badFlag = rerank(['score', '--model', join(dir, 'enc'), '--batch-size', '0'], jsonl);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/--batch-size \(batchSize: must be a positive integer, got 0\)/);
    const badLine = rerank(['score', '--model', join(dir, 'enc')], '{"query": "q", "passage": "p"}\n{"query": 3}\n');
    expect(badLine.status).toBe(2);
    expect(badLine.stderr).toMatch(/line 2: expected \{"query": "...", "passage": "..."\} with two strings/);
    const missing = rerank(['score', '--model', join(dir, 'nope')], jsonl);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/model directory .*nope does not exist/);
    const unknown = rerank(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"; commands: score, make-test-model/);
    const family = rerank(['make-test-model', '--family', 'bert', '--out', join(dir, 'x')]);
    expect(family.stderr).toMatch(/--family must be one of encoder, llm, layerwise, lightweight/);
  });

  test('--help documents both commands', () => {
    const help = rerank(['--help']);
    expect(help.status).toBe(0);
    for (const flag of [
      '--use-fp16',
      '--query-instruction-for-rerank',
      '--passage-instruction-format',
      '--devices',
      '--batch-size',
      '--query-max-length',
      '--max-length',
      '--normalize',
      '--trust-remote-code',
      '--cache-dir',
      '--prompt',
      '--cutoff-layers',
      '--compress-layers',
      '--compress-ratio',
      '--preset',
      '--family',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(rerank(['score', '--help']).stdout).toMatch(/^rerank score --model/);
  });

  test('"null" is None for every option that takes it: no instruction at all, the default length', async () => {
    expect(rerank(['make-test-model', '--family', 'llm', '--out', join(dir, 'llm')]).status).toBe(0);
    const nulls = [
      '--query-instruction-for-rerank=null',
      '--passage-instruction-for-rerank=null',
      '--query-max-length=null',
      '--prompt=null',
    ];
    const out = rerank(['score', '--model', join(dir, 'llm'), ...nulls], jsonl);
    expect(out.stderr).toBe('');
    const scores = out.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { score: number }).score);
    const engine = new FlagLLMReranker(join(dir, 'llm'), { queryInstructionForRerank: null, passageInstructionForRerank: null });
    const expected = await engine.computeScore(pairs, { queryMaxLength: null, prompt: null });
    await engine.close();
    // Without the flags the family's "A: " / "B: " instructions apply, and scores differ.
    const plain = new FlagLLMReranker(join(dir, 'llm'));
    const defaults = await plain.computeScore(pairs);
    await plain.close();
    expect(scores).toEqual(expected);
    expect(scores).not.toEqual(defaults);
    const help = rerank(['score', '--help']).stdout;
    expect(help).toMatch(/--query-instruction-for-rerank <s>\|null/);
    expect(help).toMatch(/--query-max-length <n>\|null/);
    // A flag whose option takes no null still says what it wants.
    expect(rerank(['score', '--model', join(dir, 'llm'), '--max-length=null'], jsonl).stderr).toMatch(
      /--max-length: expected an integer, got "null"/,
    );
  });
  test('--max-length beyond the model positions exits 2 naming max-length and the limit; an over-long query part is scored with a warning', async () => {
    // 'enc' is made by the first test: a BERT encoder with 512 positions.
    const long = rerank(['score', '--model', join(dir, 'enc'), '--max-length', '4000'], jsonl);
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(
      /^rerank score: --max-length \(maxLength: 4000 makes sequences of up to 4000 tokens .*beyond the model's 512 positions .*use maxLength 512 or less\)/,
    );
    expect(long.stdout).toBe('');
    expect(long.stderr).not.toMatch(/indices element out of data bounds|broadcast/);
    // A query part that fills maxLength: scored untruncated, like the engine in-process and the reference.
    const query = 'what is machine learning a subset of ai';
    const input = JSON.stringify({ query, passage: 'machine learning is a subset of artificial intelligence' }) + '\n';
    const over = rerank(['score', '--model', join(dir, 'enc'), '--max-length', '8', '--query-max-length', '8'], input);
    expect(over.status).toBe(0);
    expect(over.stderr).toMatch(/pair 0: the query part takes 11 of the 8 tokens maxLength allows.*scored untruncated/);
    const engine = new FlagReranker(join(dir, 'enc'), { onWarning: () => undefined });
    const expected = await engine.computeScore([query, 'machine learning is a subset of artificial intelligence'], {
      maxLength: 19,
      queryMaxLength: 8,
    });
    await engine.close();
    expect(JSON.parse(over.stdout)).toEqual({ index: 0, score: expected });
  });
});
