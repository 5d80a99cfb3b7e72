import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, cpSync, createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FlagReranker, ModelLoadError, resolveModelDir } from '@rerank/engine';
import { TestModels } from './support/models';

/** A local server with the Hugging Face hub's URL layout, serving one repository from a directory. */
function startHub(repo: string, dir: string, opts: { token?: string; sha: string }) {
  const requests: { url: string; auth?: string }[] = [];
  const files = (function walk(d: string): string[] {
    return readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [relative(dir, join(d, f))]));
  })(dir);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    const info = new RegExp(`^/api/models/${repo}/revision/([^/]+)$`).exec(req.url ?? '');
    if (info) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: repo, sha: opts.sha, siblings: files.map((rfilename) => ({ rfilename })) }));
      return;
    }
    const file = new RegExp(`^/${repo}/resolve/([^/]+)/(.+)$`).exec(req.url ?? '');
    if (file && files.includes(file[2])) {
      res.writeHead(200);
      createReadStream(join(dir, file[2])).pipe(res);
      return;
    }
    res.writeHead(404).end('not found');
  });
  return new Promise<{ url: string; requests: typeof requests; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

describe('models from a Hugging Face-compatible hub', () => {
  const models = new TestModels();
  let cacheDir: string;
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'rerank-cache-'));
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));
  afterAll(() => models.cleanup());

  test('downloads into the cache once, then scores like the local directory', async () => {
    const model = await models.get({ family: 'encoder', preset: 'tiny' });
    const hub = await startHub('acme/tiny-reranker', model.dir, { token: 'secret-token', sha: 'abc123' });
    try {
      const options = { cacheDir, hubEndpoint: hub.url, hubToken: 'secret-token' };
      const dir = await resolveModelDir('acme/tiny-reranker', options);
      expect(dir).toBe(join(cacheDir, 'models--acme--tiny-reranker', 'snapshots', 'abc123'));
      for (const f of ['onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json', 'reranker.json'])
        expect(existsSync(join(dir, f))).toBe(true);
      // Only what the engine needs: no fp16 / int8 graphs unless asked.
      expect(existsSync(join(dir, 'onnx/model_fp16.onnx'))).toBe(false);
      expect(hub.requests.every((r) => r.auth === 'Bearer secret-token')).toBe(true);
      expect(hub.requests[0].url).toBe('/api/models/acme/tiny-reranker/revision/main');

      const before = hub.requests.length;
      expect(await resolveModelDir('acme/tiny-reranker', options)).toBe(dir);
      expect(hub.requests.length).toBe(before);

      const pairs: [string, string][] = [['what is machine learning', 'machine learning is a subset of artificial intelligence']];
      const fromHub = new FlagReranker('acme/tiny-reranker', options);
      const local = new FlagReranker(model.dir);
      try {
        expect(await fromHub.computeScore(pairs)).toEqual(await local.computeScore(pairs));
      } finally {
        await fromHub.close();
        await local.close();
      }
    } finally {
      await hub.close();
    }
  });

  test('a private repository without a token says to set HF_TOKEN', async () => {
    const model = await models.get({ family: 'encoder', preset: 'tiny' });
    const hub = await startHub('acme/private', model.dir, { token: 't', sha: 'def' });
    try {
      await expect(resolveModelDir('acme/private', { cacheDir, hubEndpoint: hub.url })).rejects.toThrow(/401.*set HF_TOKEN/);
    } finally {
      await hub.close();
    }
  });

  test('offline mode refuses to download and says where to put the model', async () => {
    await expect(resolveModelDir('acme/anything', { cacheDir, offline: true })).rejects.toThrow(ModelLoadError);
    await expect(resolveModelDir('acme/anything', { cacheDir, offline: true })).rejects.toThrow(/offline mode .* refuses downloads/);
  });

  test('an unknown repository is a 404 that names the model id', async () => {
    const model = await models.get({ family: 'encoder', preset: 'tiny' });
    const hub = await startHub('acme/exists', model.dir, { sha: 'x' });
    try {
      await expect(resolveModelDir('acme/missing', { cacheDir, hubEndpoint: hub.url })).rejects.toThrow(
        /404.*check the model id acme\/missing/,
      );
    } finally {
      await hub.close();
    }
  });

  test('a repository without an ONNX graph points to the export recipe', async () => {
    const model = await models.get({ family: 'encoder', preset: 'tiny' });
    const noGraph = mkdtempSync(join(tmpdir(), 'rerank-nograph-'));
    try {
      copyFileSync(join(model.dir, 'tokenizer.json'), join(noGraph, 'tokenizer.json'));
      const hub = await startHub('acme/pytorch-only', noGraph, { sha: 'y' });
      try {
        await expect(resolveModelDir('acme/pytorch-only', { cacheDir, hubEndpoint: hub.url })).rejects.toThrow(
          /has no ONNX graph .*export-onnx\.py/,
        );
      } finally {
        await hub.close();
      }
    } finally {
      rmSync(noGraph, { recursive: true, force: true });
    }
  });

  test('a name is looked up under the cache directory first', async () => {
    const model = await models.get({ family: 'encoder', preset: 'tiny' });
    cpSync(model.dir, join(cacheDir, 'my-reranker'), { recursive: true });
    expect(await resolveModelDir('my-reranker', { cacheDir, offline: true })).toBe(join(cacheDir, 'my-reranker'));
  });
});
