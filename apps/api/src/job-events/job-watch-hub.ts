/**
 * Watchers of running jobs (GET /v1/jobs/{id}/events) in one API process. Per watched job one
 * feed folds the job's event log (JobEventFold), however many watch it; one read loop reads the
 * logs of every watched job at once (one Redis call per RERANK_EVENTS_INTERVAL_MS at most, whatever
 * the number of watchers); one tick per interval sends each watcher what changed since the step it
 * is at, built once per step and written to every watcher at that step. A watcher whose connection
 * is not draining is skipped and gets the changes folded together later, so a slow reader costs no
 * memory. The end entry is sent as it is read: what is left, then the final event, then the stream ends.
 */
import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import {
  ApiError,
  compareLogEntryIds,
  flatIndex,
  type ItemId,
  type JobEndEvent,
  JobEventFold,
  type JobEventLog,
  type JobLayout,
  type JobPartialEvent,
  type JobProgressEvent,
  type JobRecord,
  type JobStore,
  jobView,
  type Metrics,
  LOG_START,
  type LogEntryId,
  parseLogEntryId,
  type QueryResult,
  rankedDocument,
  type RerankConfig,
  retryLater,
  type TerminalStatus,
  TERMINAL,
} from '@rerank/jobs';
import { END_EVENT_ID, HEARTBEAT, openStream, type SseEvent, sseChunk } from './sse';
import { CONFIG, JOB_EVENT_LOG, JOB_STORE, METRICS } from '../tokens';

type FeedStore = Pick<JobStore, 'getWithProgress' | 'layout' | 'documentIds' | 'result'>;

interface Watcher {
  res: ServerResponse;
  /** The fold's step this watcher has been sent. */
  step: number;
  /** Resumed from an entry this process has not folded yet: nothing is sent until the fold passes it. */
  resumeAt: LogEntryId | null;
}

interface Feed {
  id: string;
  record: JobRecord;
  layout: JobLayout;
  documentIds: (ItemId | null)[] | null;
  fold: JobEventFold;
  watchers: Set<Watcher>;
  /** Entries folded since the last tick. */
  dirty: boolean;
}

/** Retry-After of a refused stream (RERANK_EVENTS_MAX_WATCHERS reached). */
const FULL_RETRY_AFTER_S = 5;

@Injectable()
export class JobWatchHub implements OnModuleDestroy {
  private readonly log = new Logger('JobWatchHub');
  private readonly feeds = new Map<string, Promise<Feed>>();
  private readonly ready = new Map<string, Feed>();
  private watchers = 0;
  private readonly ticker: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;
  private reading: Promise<void> | undefined;
  private closed = false;
  private readonly config: RerankConfig['events'];

  constructor(
    @Inject(JOB_EVENT_LOG) private readonly eventLog: JobEventLog,
    @Inject(JOB_STORE) private readonly store: FeedStore,
    @Inject(CONFIG) config: Pick<RerankConfig, 'events'>,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {
    this.config = config.events;
    this.ticker = setInterval(() => this.tick(), this.config.intervalMs);
    this.heartbeat = setInterval(() => this.beat(), this.config.heartbeatMs);
    this.ticker.unref();
    this.heartbeat.unref();
  }

  /** Open streams in this process. */
  get open(): number {
    return this.watchers;
  }

  /**
   * Serves the events of `record`'s job on `res` until the job ends or the client goes. `lastEventId`
   * (Last-Event-ID) resumes after that event: nothing already sent is sent again.
   */
  async watch(record: JobRecord, res: ServerResponse, lastEventId: string | undefined): Promise<void> {
    const resumeFrom = checkLastEventId(lastEventId);
    if (TERMINAL.includes(record.status)) {
      // The client has the final event already (its reconnect after the end): 204 stops EventSource's reconnects.
      if (resumeFrom === END_EVENT_ID) {
        res.writeHead(204).end();
        return;
      }
      const final = await this.finalChunk(record.id, record.status as TerminalStatus);
      openStream(res);
      res.end(final);
      return;
    }
    if (this.closed)
      throw retryLater(503, 'shutting_down', 'the API is shutting down; reconnect (with Last-Event-ID) to another replica', 1);
    if (this.watchers >= this.config.maxWatchers) {
      throw retryLater(
        503,
        'overloaded',
        `this API process serves ${this.config.maxWatchers} event streams already (RERANK_EVENTS_MAX_WATCHERS); retry later or poll GET /v1/jobs/{id}`,
        FULL_RETRY_AFTER_S,
      );
    }
    this.count(1);
    const watcher: Watcher = { res, step: 0, resumeAt: resumeFrom === END_EVENT_ID ? null : (resumeFrom ?? null) };
    let feed: Feed;
    try {
      feed = await this.feed(record);
    } catch (e) {
      this.count(-1);
      throw e;
    }
    openStream(res);
    feed.watchers.add(watcher);
    res.once('close', () => this.leave(feed, watcher));
    // Whatever the feed has folded already, now rather than at the next tick.
    this.send(feed, [watcher]);
  }

  private count(change: 1 | -1): void {
    this.watchers += change;
    this.metrics?.gauge('rerank_event_streams', {}, this.watchers);
  }

  private leave(feed: Feed, watcher: Watcher): void {
    if (!feed.watchers.delete(watcher)) return;
    this.count(-1);
    if (feed.watchers.size === 0) this.drop(feed.id);
  }

  private drop(id: string): void {
    this.feeds.delete(id);
    this.ready.delete(id);
  }

  /** The job's feed, made by its first watcher: the layout and document ids read once, folded from the log's start. */
  private feed(record: JobRecord): Promise<Feed> {
    let made = this.feeds.get(record.id);
    if (!made) {
      made = (async () => {
        const [layout, documentIds] = await Promise.all([this.store.layout(record.id), this.store.documentIds(record.id)]);
        if (!layout) throw new ApiError(404, 'not_found', `job ${record.id} expired`);
        const feed: Feed = {
          id: record.id,
          record,
          layout,
          documentIds,
          fold: new JobEventFold(layout.queries.length, record.topK),
          watchers: new Set(),
          dirty: false,
        };
        this.ready.set(record.id, feed);
        this.startReading();
        return feed;
      })();
      made.catch(() => this.feeds.delete(record.id));
      this.feeds.set(record.id, made);
    }
    return made;
  }

  /** One loop for every watched job: read their logs after what each feed folded, fold, end the jobs that ended. */
  private startReading(): void {
    this.reading ??= (async () => {
      let lastRead = 0;
      while (!this.closed && this.ready.size > 0) {
        // At most one read per interval: a read returns as soon as any watched log has news, and shards may finish faster.
        const wait = lastRead + this.config.intervalMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        lastRead = Date.now();
        const after = new Map([...this.ready.values()].map((f) => [f.id, f.fold.lastId ?? LOG_START]));
        let read;
        try {
          read = await this.eventLog.read(after, this.config.intervalMs);
        } catch (e) {
          if (this.closed) break;
          this.log.warn(`reading job event logs: ${(e as Error).message}`);
          continue;
        }
        for (const [id, entries] of read) {
          const feed = this.ready.get(id);
          if (!feed) continue;
          for (const entry of entries) feed.fold.apply(entry);
          feed.dirty = true;
          if (feed.fold.ended) await this.end(feed, feed.fold.ended);
        }
      }
      this.reading = undefined;
    })();
  }

  private tick(): void {
    for (const feed of this.ready.values()) {
      if (!feed.dirty) continue;
      feed.dirty = false;
      this.send(feed, [...feed.watchers]);
    }
  }

  private beat(): void {
    for (const feed of this.ready.values()) for (const w of feed.watchers) if (!w.res.writableNeedDrain) w.res.write(HEARTBEAT);
  }

  /** Brings each watcher to the fold's step: the events of what changed since its own step, built once per step. */
  private send(feed: Feed, watchers: readonly Watcher[]): void {
    const { fold } = feed;
    const chunks = new Map<number, string>();
    for (const w of watchers) {
      if (w.resumeAt !== null) {
        if (fold.lastId === null || compareLogEntryIds(fold.lastId, w.resumeAt) < 0) continue;
        w.step = fold.stepOf(w.resumeAt);
        w.resumeAt = null;
      }
      if (w.step >= fold.step || w.res.writableNeedDrain) continue;
      let chunk = chunks.get(w.step);
      if (chunk === undefined) chunks.set(w.step, (chunk = sseChunk(this.changes(feed, w.step), fold.lastId)));
      if (chunk) w.res.write(chunk);
      w.step = fold.step;
    }
  }

  /** progress (when shards were added) and partial (the queries whose top-k changed) since `step`. */
  private changes(feed: Feed, step: number): SseEvent[] {
    const { fold, record } = feed;
    const events: SseEvent[] = [];
    const shardsDone = fold.progress().shardsDone;
    if (fold.progressedSince(step)) events.push({ event: 'progress', data: this.progress(feed) });
    const changed = fold.changedSince(step);
    if (changed.length > 0) {
      const data: JobPartialEvent = {
        provisional: true,
        shards_done: shardsDone,
        shards_total: record.shardsTotal,
        results: changed.map((q) => {
          const query = feed.layout.queries[q];
          return {
            query_index: q,
            ...(query.id !== null && query.id !== undefined ? { query_id: query.id } : {}),
            top_k: fold.top(q).map((r) => rankedDocument(r, feed.documentIds?.[flatIndex(feed.layout, q, r.index)], undefined)),
          };
        }),
      };
      events.push({ event: 'partial', data });
    }
    return events;
  }

  private progress(feed: Feed): JobProgressEvent {
    const { shardsDone, pairsDone, pairsPerSecond } = feed.fold.progress();
    const total = feed.record.counts.pairs;
    return {
      status: feed.fold.ended ?? (shardsDone > 0 ? 'running' : feed.record.status),
      shards_done: shardsDone,
      shards_total: feed.record.shardsTotal,
      pairs_done: pairsDone,
      pairs_total: total,
      pairs_per_second: pairsPerSecond,
      eta_seconds: pairsPerSecond ? Math.max(0, total - pairsDone) / pairsPerSecond : null,
    };
  }

  /** The job ended: what is left, the final event, the end of every stream. */
  private async end(feed: Feed, status: TerminalStatus): Promise<void> {
    this.drop(feed.id);
    this.send(feed, [...feed.watchers]);
    let chunk: string;
    try {
      chunk = await this.finalChunk(feed.id, status);
    } catch (e) {
      // The streams end without it; their clients reconnect and are sent it then.
      this.log.warn(`job ${feed.id}: reading its final state: ${(e as Error).message}`);
      chunk = '';
    }
    for (const w of feed.watchers) w.res.end(chunk);
  }

  /** The final event: the job as GET /v1/jobs/{id} shows it, and when it completed the results exactly as GET .../results has them. */
  private async finalChunk(id: string, status: TerminalStatus): Promise<string> {
    const found = await this.store.getWithProgress(id);
    if (!found) throw new Error('the job expired');
    const results = status === 'completed' ? ((await this.store.result(id)) as QueryResult[] | null) : null;
    const data: JobEndEvent = { job: jobView(found.record, found.progress, found.record.baseUrl), results };
    return sseChunk([{ event: status, data }], END_EVENT_ID);
  }

  /** Shutdown: every stream ends now (its client resumes on another replica with Last-Event-ID), the reads stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    clearInterval(this.heartbeat);
    for (const feed of this.ready.values()) for (const w of feed.watchers) w.res.end();
    await this.reading?.catch(() => undefined);
    await this.eventLog.close();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}

/** Last-Event-ID: an entry id or the final event's id; anything else is the client's mistake. */
function checkLastEventId(value: string | undefined): LogEntryId | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === END_EVENT_ID || parseLogEntryId(value)) return value;
  throw new ApiError(
    400,
    'invalid_last_event_id',
    `Last-Event-ID: ${JSON.stringify(value.slice(0, 64))} is not an id this stream sent (they look like 1733600000000-0, or "end"); reconnect without it to start from the job's current state`,
    { field: 'Last-Event-ID' },
  );
}
