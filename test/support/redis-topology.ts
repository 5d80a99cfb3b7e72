/**
 * Redis beyond one node for tests, from real redis-server processes on free ports: a Redis Cluster
 * (`redis-cli --cluster create`) and a Sentinel set (master, replica, sentinels).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '@rerank/harness';
import { type AppProcess, startProcess, waitFor } from '@rerank/harness';

const run = promisify(execFile);

interface Node {
  port: number;
  process: AppProcess;
}

/** One redis-server from a config file in `dir`; resolves once it answers PING. */
async function startNode(dir: string, name: string, lines: string[], sentinel = false): Promise<Node> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly no', 'loglevel warning', ...lines, ''].join('\n'),
  );
  const process = startProcess({
    name,
    command: 'redis-server',
    args: sentinel ? [conf, '--sentinel'] : [conf],
    env: globalThis.process.env,
  });
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await waitFor(
      `${name} on port ${port}`,
      async () => {
        if (!process.running()) throw new Error(`${name} exited: ${process.output().slice(-2000)}`);
        if (client.status !== 'ready') await client.connect().catch(() => undefined);
        return (await client.ping().catch(() => null)) === 'PONG' ? true : undefined;
      },
      15000,
      100,
    );
  } finally {
    client.disconnect();
  }
  return { port, process };
}

export interface RedisClusterNodes {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

/** `masters` cluster-enabled redis-servers joined by `redis-cli --cluster create` (no replicas), every slot served. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterNodes> {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-redis-cluster-'));
  const nodes: Node[] = [];
  const stop = async () => {
    await Promise.allSettled(nodes.map((n) => n.process.stop(10000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startNode(dir, `redis-cluster-${i}`, [
          'cluster-enabled yes',
          `cluster-config-file nodes-${i}.conf`,
          'cluster-node-timeout 5000',
        ]),
      );
    }
    const ports = nodes.map((n) => n.port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 60000,
    });
    // Every node agrees the cluster is up (create returns before the last node has heard).
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on ${port}`,
        async () => {
          const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
          return /cluster_state:ok/.test(stdout) ? true : undefined;
        },
        30000,
        200,
      );
    }
    return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface SentinelSet {
  /** redis+sentinel://127.0.0.1:s1,.../<name> */
  url: string;
  name: string;
  master: Node;
  replica: Node;
  sentinels: Node[];
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A master, one replica of it and `count` sentinels monitoring it (quorum 2, failover after 1 s down). */
export async function startSentinelSet(count = 3, name = 'rerankmaster'): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-redis-sentinel-'));
  const all: Node[] = [];
  const stop = async () => {
    await Promise.allSettled(all.map((n) => n.process.stop(10000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startNode(dir, 'redis-master', []);
    all.push(master);
    const replica = await startNode(dir, 'redis-replica', [`replicaof 127.0.0.1 ${master.port}`]);
    all.push(replica);
    await waitFor(
      'the replica in sync',
      async () => {
        const { stdout } = await run('redis-cli', ['-p', String(replica.port), 'info', 'replication']);
        return /master_link_status:up/.test(stdout) ? true : undefined;
      },
      30000,
      200,
    );
    const sentinels: Node[] = [];
    for (let i = 0; i < count; i++) {
      const s = await startNode(
        dir,
        `redis-sentinel-${i}`,
        [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
        ],
        true,
      );
      sentinels.push(s);
      all.push(s);
    }
    const masterPort = async () => {
      const { stdout } = await run('redis-cli', ['-p', String(sentinels[0].port), 'sentinel', 'get-master-addr-by-name', name]);
      return Number(stdout.trim().split('\n')[1]);
    };
    // Sentinels know the replica and each other before anything fails.
    await waitFor(
      'sentinels to see the replica and each other',
      async () => {
        const { stdout } = await run('redis-cli', ['-p', String(sentinels[0].port), 'sentinel', 'master', name]);
        const field = (f: string) => Number(new RegExp(`^${f}\\n(\\d+)`, 'm').exec(stdout)?.[1] ?? -1);
        return field('num-slaves') >= 1 && field('num-other-sentinels') >= count - 1 ? true : undefined;
      },
      30000,
      200,
    );
    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
      name,
      master,
      replica,
      sentinels,
      masterPort,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
