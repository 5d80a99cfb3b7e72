/**
 * The DocumentStore port's contract on its two adapters, Redis (a real redis-server) and files under
 * a data directory, and on the unit tier's fake: texts by flat index in the order asked (null where
 * gone), kept once the job is queued, removed or expired when it ends. Then each adapter's own
 * expiry (Redis TTLs; the files' mtime, swept), and texts of every size and script.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DocumentStore, FileDocumentStore, RedisDocumentStore } from '@rerank/jobs';
import { keys } from '../../libs/jobs/src/store/keys';
import { startRedis, type TestRedis } from '../support/redis-server';
import { MemoryDocumentStore } from '../unit/fakes';

let redis: TestRedis;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'rerank-documents-'));
});
afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Texts as jobs carry them: empty, multi-byte, long, with newlines and NULs. */
const TEXTS = ['Paris is the capital of France.', '', 'Zürich — 東京 🚀 naïve', 'a\nb\r\nc\u0000d', 'x'.repeat(70000), 'last'];

describe.each([
  ['Redis', (): DocumentStore => new RedisDocumentStore(redis.client)],
  ['files', (): DocumentStore => new FileDocumentStore(join(dir, 'contract'))],
  ['in-memory fake', (): DocumentStore => new MemoryDocumentStore()],
])('DocumentStore contract: %s', (_name, make) => {
  let store: DocumentStore;
  beforeAll(() => {
    store = make();
  });

  it('reads texts by flat index in the order asked, null where there is none', async () => {
    await store.write('job_d1', TEXTS);
    expect(await store.has('job_d1')).toBe(true);
    expect(await store.read('job_d1', [5, 0, 2, 2, 4, 3, 1])).toEqual([
      TEXTS[5],
      TEXTS[0],
      TEXTS[2],
      TEXTS[2],
      TEXTS[4],
      TEXTS[3],
      TEXTS[1],
    ]);
    expect(await store.read('job_d1', [6, 0])).toEqual([null, TEXTS[0]]);
    expect(await store.read('job_d1', [])).toEqual([]);
    expect(await store.read('job_none', [0, 1])).toEqual([null, null]);
    expect(await store.has('job_none')).toBe(false);
  });

  it('a job of many texts: each read back whole', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `document ${i} ${'é'.repeat(i % 7)}`);
    await store.write('job_d2', many);
    const indices = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000);
    expect(await store.read('job_d2', indices)).toEqual(indices.map((i) => many[i]));
  });

  it('keep, expire and remove: texts stay while kept, go when removed; expire and remove of a missing job are no-ops', async () => {
    await store.write('job_d3', ['a', 'b']);
    await store.keep('job_d3');
    await store.expire('job_d3', 3600);
    expect(await store.read('job_d3', [1])).toEqual(['b']);
    await store.remove('job_d3');
    expect(await store.has('job_d3')).toBe(false);
    expect(await store.read('job_d3', [0, 1])).toEqual([null, null]);
    await store.remove('job_d3');
    await store.expire('job_d404', 10);
    await store.keep('job_d404');
    expect(await store.has('job_d404')).toBe(false);
    // Written again after a removal: the new texts.
    await store.write('job_d3', ['c']);
    expect(await store.read('job_d3', [0, 1])).toEqual(['c', null]);
  });
});

describe('Redis adapter', () => {
  it('keeps texts in the job hash slot with the pending TTL until kept, then as long as the job; expire sets a TTL', async () => {
    const store = new RedisDocumentStore(redis.client);
    await store.write('job_r1', ['a']);
    expect(await redis.client.ttl(keys.docs('job_r1'))).toBeGreaterThan(3000);
    await store.keep('job_r1');
    expect(await redis.client.ttl(keys.docs('job_r1'))).toBe(-1);
    await store.expire('job_r1', 120);
    expect(await redis.client.ttl(keys.docs('job_r1'))).toBe(120);
  });
});

describe('files adapter', () => {
  it('one file per job, its expiry the mtime: pending until kept, kept until removed, expired texts read as gone and swept', async () => {
    let now = Date.now();
    const root = join(dir, 'expiry');
    const store = new FileDocumentStore(root, () => now);
    await store.write('job_f1', ['one', 'two']);
    const file = join(root, 'job_f1.docs');
    expect(statSync(file).mtimeMs).toBeGreaterThan(now + 3000_000);
    await store.keep('job_f1');
    expect(new Date(statSync(file).mtimeMs).getUTCFullYear()).toBe(2100);
    await store.expire('job_f1', 60);
    expect(Math.round((statSync(file).mtimeMs - now) / 1000)).toBe(60);
    expect(await store.read('job_f1', [1])).toEqual(['two']);
    // A minute later the texts are gone; the next write (a sweep at most once a minute) deletes the file.
    now += 61_000;
    expect(await store.has('job_f1')).toBe(false);
    expect(await store.read('job_f1', [0])).toEqual([null]);
    // A temporary file of a write that died long ago goes too; a fresh one stays.
    writeFileSync(join(root, 'job_f9.docs.dead.tmp'), 'x');
    utimesSync(join(root, 'job_f9.docs.dead.tmp'), now / 1000 - 7200, now / 1000 - 7200);
    writeFileSync(join(root, 'job_f8.docs.live.tmp'), 'x');
    utimesSync(join(root, 'job_f8.docs.live.tmp'), now / 1000, now / 1000);
    await store.write('job_f2', ['x']);
    expect(readdirSync(root).sort()).toEqual(['job_f2.docs', 'job_f8.docs.live.tmp']);
  });

  it('refuses an id that is not a job id rather than make it a path', async () => {
    const store = new FileDocumentStore(join(dir, 'ids'));
    await expect(store.write('../escape', ['x'])).rejects.toThrow('not a job id: "../escape"');
  });
});
