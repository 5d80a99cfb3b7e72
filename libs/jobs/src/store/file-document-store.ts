/**
 * DocumentStore on files (RERANK_DOCUMENT_STORE=files): a job's texts in one file under
 * `<RERANK_DATA_DIR>/documents`, for jobs whose texts would crowd Redis's memory (a 1,000,000-pair
 * job's texts are gigabytes; Redis then holds only the job's record, progress and results). Every
 * process of the service (API, workers, aggregator) must see the same directory: one machine, or a
 * volume they share (docs/deploy.md).
 *
 * File `<jobId>.docs`: N (uint32 LE), N + 1 byte offsets into the texts (float64 LE), then the texts
 * (UTF-8, in flat document order). A text is read by position (two reads), so a shard reads only its
 * own. Written to a temporary name and renamed, so a reader never sees half a file. The file's mtime
 * is its expiry (as a key's TTL in Redis): a job not yet queued expires after PENDING_TTL_SECONDS,
 * `keep` puts it off indefinitely, `expire` sets it; expired files read as gone and are deleted by
 * the next sweep (on a write, at most once a minute).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { DocumentStore } from '../ports/document-store';
import { PENDING_TTL_SECONDS } from './job-hash';

/** The mtime of a file kept until removed (2100-01-01). */
const KEPT_UNTIL_S = 4102444800;
const SWEEP_EVERY_MS = 60000;
const SUFFIX = '.docs';
/** Job ids are the API's (`job_` + base64url); anything else is refused rather than made into a path. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class FileDocumentStore implements DocumentStore {
  private lastSweep = 0;

  constructor(
    /** `<RERANK_DATA_DIR>/documents`. */
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  private path(jobId: string): string {
    if (!SAFE_ID.test(jobId)) throw new Error(`not a job id: ${JSON.stringify(jobId)}`);
    return join(this.dir, `${jobId}${SUFFIX}`);
  }

  async write(jobId: string, texts: readonly string[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const header = Buffer.alloc(4 + 8 * (texts.length + 1));
    header.writeUInt32LE(texts.length, 0);
    let offset = 0;
    for (let i = 0; i < texts.length; i++) {
      header.writeDoubleLE(offset, 4 + 8 * i);
      offset += Buffer.byteLength(texts[i], 'utf8');
    }
    header.writeDoubleLE(offset, 4 + 8 * texts.length);
    const target = this.path(jobId);
    const temporary = `${target}.${randomUUID()}.tmp`;
    const out = createWriteStream(temporary);
    try {
      if (!out.write(header)) await once(out, 'drain');
      for (const text of texts) if (!out.write(text, 'utf8')) await once(out, 'drain');
      out.end();
      await once(out, 'finish');
      await utimes(temporary, this.now() / 1000, this.now() / 1000 + PENDING_TTL_SECONDS);
      await rename(temporary, target);
    } catch (e) {
      out.destroy();
      await unlink(temporary).catch(() => undefined);
      throw e;
    }
    await this.sweep();
  }

  async keep(jobId: string): Promise<void> {
    await this.setExpiry(jobId, KEPT_UNTIL_S);
  }

  async read(jobId: string, indices: readonly number[]): Promise<(string | null)[]> {
    if (indices.length === 0) return [];
    if (!(await this.has(jobId))) return indices.map(() => null);
    const file = await open(this.path(jobId), 'r').catch(() => null);
    if (!file) return indices.map(() => null);
    try {
      const head = Buffer.alloc(16);
      await file.read(head, 0, 4, 0);
      const count = head.readUInt32LE(0);
      const textsStart = 4 + 8 * (count + 1);
      const out: (string | null)[] = [];
      for (const i of indices) {
        if (!Number.isInteger(i) || i < 0 || i >= count) {
          out.push(null);
          continue;
        }
        await file.read(head, 0, 16, 4 + 8 * i);
        const start = head.readDoubleLE(0);
        const text = Buffer.alloc(head.readDoubleLE(8) - start);
        if (text.length > 0) await file.read(text, 0, text.length, textsStart + start);
        out.push(text.toString('utf8'));
      }
      return out;
    } finally {
      await file.close();
    }
  }

  async has(jobId: string): Promise<boolean> {
    const s = await stat(this.path(jobId)).catch(() => null);
    return s !== null && s.mtimeMs > this.now();
  }

  async expire(jobId: string, ttlSeconds: number): Promise<void> {
    await this.setExpiry(jobId, this.now() / 1000 + ttlSeconds);
  }

  async remove(jobId: string): Promise<void> {
    await unlink(this.path(jobId)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** A missing file stays missing (as EXPIRE on a missing key). */
  private async setExpiry(jobId: string, atSeconds: number): Promise<void> {
    await utimes(this.path(jobId), this.now() / 1000, atSeconds).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Deletes expired files (and temporary files of writes that died), at most once per SWEEP_EVERY_MS. */
  private async sweep(): Promise<void> {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const s = await stat(path).catch(() => null);
      const expired = name.endsWith(SUFFIX) ? s !== null && s.mtimeMs <= now : s !== null && s.mtimeMs <= now - PENDING_TTL_SECONDS * 1000;
      if (expired) await unlink(path).catch(() => undefined);
    }
  }
}
