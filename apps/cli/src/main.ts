import { RerankApiError, RerankConnectionError, RerankTimeoutError } from '@rerank/client';
import { ModelLoadError, ModelRunError, OutOfMemoryError, RerankerArgumentError } from '@rerank/engine';
import { UsageError } from './client-env';
import { DOCTOR_HELP, runDoctor } from './doctor-command';
import { JOBS_HELP, runJobs } from './jobs-command';
import { MAKE_TEST_MODEL_HELP, runMakeTestModel } from './make-test-model-command';
import { InputError } from './read-pairs';
import { runScore, SCORE_HELP } from './score-command';
import { runSetupGpu, SETUP_GPU_HELP } from './setup-gpu-command';

const HELP = `rerank: FlagEmbedding-compatible rerankers on ONNX Runtime

Commands
  rerank score --model <dir|name> [options] [input.jsonl]
      score (query, passage) pairs read as JSON lines; one JSON line out per pair
  rerank make-test-model --family <family> --out <dir> [options]
      write a generated test model (real ONNX graph, deterministic weights)
  rerank jobs <submit|status|wait|watch|results|cancel> [options]
      asynchronous jobs on a running API (--url or $RERANK_URL, key from $RERANK_API_KEY)
  rerank setup-gpu [--cache <dir>]
      install onnxruntime's CUDA provider and the CUDA libraries it loads, from PyPI
  rerank doctor [--json]
      check what cuda:N sessions need here: provider, each library, driver, GPUs

rerank <command> --help shows the options of a command.

${SCORE_HELP}
${MAKE_TEST_MODEL_HELP}
${JOBS_HELP}
${SETUP_GPU_HELP}
${DOCTOR_HELP}`;

/** A command resolves to its exit status (nothing: 0). */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number | void> }> = {
  score: { help: SCORE_HELP, run: runScore },
  'make-test-model': { help: MAKE_TEST_MODEL_HELP, run: runMakeTestModel },
  jobs: { help: JOBS_HELP, run: runJobs },
  'setup-gpu': { help: SETUP_GPU_HELP, run: runSetupGpu },
  doctor: { help: DOCTOR_HELP, run: (argv) => Promise.resolve(runDoctor(argv)) },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `rerank: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')} (rerank --help)\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (e) {
    const error = e as Error;
    // Argument, input and model errors are the user's to fix: their message is enough.
    const known =
      error instanceof RerankerArgumentError ||
      error instanceof ModelLoadError ||
      error instanceof ModelRunError ||
      error instanceof OutOfMemoryError ||
      error instanceof InputError ||
      error instanceof UsageError ||
      error instanceof RerankApiError ||
      error instanceof RerankConnectionError ||
      error instanceof RerankTimeoutError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // The engine names options in camelCase; on the command line they are flags.
    const message =
      error instanceof RerankerArgumentError
        ? `--${error.argument.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} (${error.message})`
        : error.message;
    process.stderr.write(`rerank ${name}: ${known || message.startsWith('--') ? message : (error.stack ?? message)}\n`);
    return 2;
  }
}

let settled = false;
// Never exit 0 with a command's work undone: when the event loop empties while it still waits (a
// device thread that stopped without answering), say so and fail.
process.on('beforeExit', () => {
  if (settled) return;
  process.stderr.write(
    'rerank: the command stopped before finishing (a device thread ended without answering); its output is incomplete\n',
  );
  process.exit(70);
});
void main(process.argv.slice(2)).then((code) => {
  settled = true;
  process.exitCode = code;
});
