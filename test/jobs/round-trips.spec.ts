/**
 * Redis round trips per shard, counted on a real Redis with MONITOR while one job of many small
 * shards runs through real processes. Round trips are counted per client connection (named by the
 * process): a MULTI … EXEC block is one, every other command one; Lua's own calls are not counted;
 * worker heartbeats (time-driven, not shard-driven) are left out.
 */
import type { Redis } from 'ioredis';
import { Cluster } from '../support/cluster';
import { removeTestModels, testEncoderDir } from '../support/model';

jest.setTimeout(180000);

interface Command {
  source: string;
  args: string[];
}

/** Round trips per client name from MONITOR lines. */
async function roundTrips(commands: Command[], admin: Redis): Promise<Record<string, number>> {
  const names = new Map<string, string>();
  for (const line of ((await admin.client('LIST')) as string).split('\n')) {
    const addr = /\baddr=(\S+)/.exec(line)?.[1];
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (addr) names.set(addr, name || '(unnamed)');
  }
  const out: Record<string, number> = {};
  const inMulti = new Map<string, Command[]>();
  const count = (source: string, block: Command[]) => {
    // Heartbeats: SET rerank:worker:<id> / ZADD rerank:workers in one MULTI every 2 s.
    if (block.some((c) => /^rerank:worker/.test(c.args[0] ?? ''))) return;
    const name = names.get(source) ?? `(gone ${source})`;
    out[name] = (out[name] ?? 0) + 1;
  };
  for (const c of commands) {
    if (c.source === 'lua') continue;
    const verb = c.args[0]?.toLowerCase();
    const open = inMulti.get(c.source);
    if (verb === 'multi') inMulti.set(c.source, []);
    else if (verb === 'exec' || verb === 'discard') {
      inMulti.delete(c.source);
      count(c.source, open ?? []);
    } else if (open) open.push({ source: c.source, args: c.args.slice(1) });
    else count(c.source, [{ source: c.source, args: c.args.slice(1) }]);
  }
  return out;
}

describe('Redis round trips per shard', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({
      models: [{ name: 'enc', path: await testEncoderDir() }],
      devices: 'cpu',
      env: { RERANK_SHARD_MAX_PAIRS: '2', RERANK_WORKER_CONCURRENCY: '1' },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    removeTestModels();
  });

  it('the worker needs about 2 round trips per shard of its own; texts are read once, by the worker', async () => {
    const documents = Array.from({ length: 64 }, (_, i) => `document number ${i} about ${i % 3 ? 'cats' : 'dogs'}`);
    const monitor = await cluster.redis.client.duplicate().monitor();
    const commands: Command[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ source, args }));
    const created = await cluster.client.post('/v1/jobs', { model: 'enc', query: 'dogs', documents, top_k: 5, return_documents: true });
    expect(created.status).toBe(202);
    const shards = created.body.progress.shards_total as number;
    expect(shards).toBe(32);
    const done = await cluster.client.waitJob(created.body.id, 120000);
    expect(done.status).toBe('completed');
    const results = await cluster.client.get(`/v1/jobs/${created.body.id}/results`);
    expect(results.body.results[0].top_k).toHaveLength(5);
    for (const r of results.body.results[0].top_k) expect(r.document.text).toBe(documents[r.index]);
    const trips = await roundTrips(commands, cluster.redis.client);
    monitor.disconnect();
    const perShard = Object.fromEntries(Object.entries(trips).map(([k, v]) => [k, Math.round((v / shards) * 100) / 100]));
    const docReads = commands.filter((c) => c.args[0]?.toLowerCase() === 'hmget' && /:docs$/.test(c.args[1] ?? '')).length;
    const total = Object.values(trips).reduce((a, b) => a + b, 0);
    console.log(
      `round trips per shard by connection over ${shards} shards: ${JSON.stringify(perShard)}, all: ${(total / shards).toFixed(2)}; HMGET of texts (Lua included): ${docReads}`,
    );
    // One start (status, texts, running, run count) and one progress write per shard, plus one context read per job.
    expect(trips['rerank-worker']).toBeLessThanOrEqual(2 * shards + 2);
    // Each shard's texts once (inside the start script); the aggregator takes the top-k texts from the shards' return values.
    expect(docReads).toBe(shards);
  });
});
