import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Job, JobRequest } from '@rerank/client';
import { clientFromEnv, UsageError } from './client-env';
import { jobProgressBar } from './job-progress';
import { watchJob } from './watch-command';

export const JOBS_HELP = `rerank jobs <submit|status|wait|watch|results|cancel> [options]

Asynchronous jobs on a running rerank API. The API's base URL is --url, else $RERANK_URL
(default http://localhost:3000); the API key is read from $RERANK_API_KEY (sent as
Authorization: Bearer). Answers are printed to stdout as the API gives them (JSON).

  rerank jobs submit [request.json | -] [--idempotency-key <key>] [--wait]
      queue a job; the body (POST /v1/jobs: query + documents, or queries, top_k, webhook, engine
      options...) is read from the file, or from stdin when none (or "-") is given. Prints the job;
      with --wait, waits as "wait" does and prints the finished job.
  rerank jobs status <id>            the job: status, progress, timings, error, webhook delivery
  rerank jobs wait <id> [--interval-ms <n>] [--timeout-s <n>]
      poll until the job ends (a progress bar on stderr when it is a terminal), print it; exit
      status 0 when completed, 1 when failed or cancelled
  rerank jobs watch <id>
      follow the job's events (GET /v1/jobs/{id}/events) until it ends. On a terminal: a progress
      bar (shards, pairs, pairs/s, time left) and the best results so far of the first queries,
      redrawn in place and marked provisional until the job completes, then its final state.
      Otherwise one JSON line per event: {"event","id","data"} (progress, partial, then completed,
      failed or cancelled, whose data holds the job and, when completed, the results exactly as
      "results" gives them). A cut stream is resumed where it stopped. Exit status 0 when the job
      completed, 1 when it failed or was cancelled, 2 on an error (unknown job, no API)
  rerank jobs results <id> [--all]   top-k per query (JSON); --all: every score as JSON lines,
                                     streamed, {"query_index","query_id"?,"index","id"?,"score"}
  rerank jobs cancel <id>            cancel a queued or running job; prints it

Options
  --url <url>                        the API's base URL (default $RERANK_URL or http://localhost:3000)
`;

const SUBCOMMANDS = ['submit', 'status', 'wait', 'watch', 'results', 'cancel'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) === 0) throw new UsageError(`--${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function readRequest(path: string | undefined): Promise<JobRequest> {
  const fromStdin = path === undefined || path === '-';
  let text: string;
  if (fromStdin) {
    if (process.stdin.isTTY) throw new UsageError('submit: give the job body as a file (rerank jobs submit request.json) or on stdin');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = await readFile(path, 'utf8').catch((e: Error) => {
      throw new UsageError(`submit: cannot read ${path}: ${e.message}`);
    });
  }
  try {
    return JSON.parse(text) as JobRequest;
  } catch (e) {
    throw new UsageError(
      `submit: ${fromStdin ? 'stdin' : path} is not JSON (${(e as Error).message}); give a POST /v1/jobs body such as {"query": "...", "documents": ["..."]}`,
    );
  }
}

const print = (out: NodeJS.WritableStream, value: unknown) => out.write(`${JSON.stringify(value, null, 2)}\n`);

/** `rerank jobs ...`; resolves to the exit status. */
export async function runJobs(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'idempotency-key': { type: 'string' },
      wait: { type: 'boolean' },
      all: { type: 'boolean' },
      'interval-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
    },
  });
  const [sub, ...args] = positionals;
  if (!SUBCOMMANDS.includes(sub as Subcommand)) {
    throw new UsageError(
      `expected a subcommand, one of ${SUBCOMMANDS.join(', ')}${sub ? `, got ${JSON.stringify(sub)}` : ''} (rerank jobs --help)`,
    );
  }
  const client = clientFromEnv(values.url);
  const intervalMs = positiveInt('interval-ms', values['interval-ms']) ?? 500;
  const timeoutS = positiveInt('timeout-s', values['timeout-s']);

  const waitFor = async (id: string): Promise<number> => {
    const bar = jobProgressBar();
    let job: Job;
    try {
      job = await client.waitForJob(id, {
        intervalMs,
        timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
        onProgress: (j) => bar.update(j),
      });
    } finally {
      bar.stop();
    }
    print(out, job);
    return job.status === 'completed' ? 0 : 1;
  };

  if (sub === 'submit') {
    if (args.length > 1) throw new UsageError(`submit: one request file at most, got ${args.join(' ')}`);
    const job = await client.submitJob(await readRequest(args[0]), { idempotencyKey: values['idempotency-key'] });
    if (!values.wait) {
      print(out, job);
      return 0;
    }
    process.stderr.write(`job ${job.id} ${job.status}\n`);
    return waitFor(job.id);
  }

  if (args.length !== 1)
    throw new UsageError(`${sub}: expected one job id, got ${args.length ? args.join(' ') : 'none'} (the "id" that submit printed)`);
  const id = args[0];
  switch (sub as Exclude<Subcommand, 'submit'>) {
    case 'status':
      print(out, await client.getJob(id));
      return 0;
    case 'wait':
      return waitFor(id);
    case 'watch':
      return watchJob(client, id, out);
    case 'cancel':
      print(out, await client.cancelJob(id));
      return 0;
    case 'results':
      if (!values.all) {
        print(out, await client.results(id));
        return 0;
      }
      for await (const line of client.streamScores(id)) {
        if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise((resolve) => out.once('drain', resolve));
      }
      return 0;
  }
}
