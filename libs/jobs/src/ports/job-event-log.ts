/**
 * A job's event log: what watchers of a running job (GET /v1/jobs/{id}/events) are told, written
 * where the facts happen: an entry per scored shard (`ShardProgress.recordShard`, by the worker) and
 * one end entry with the terminal status (`JobRecords.finish`, atomically with the status). Entries
 * are ordered and their ids increase, so an id is a position a reconnecting watcher resumes from.
 * Every API replica reads the same log (Redis: a stream per job, store/redis-job-event-log.ts).
 */
import type { TerminalStatus } from '../queues';
import type { ShardDone } from './job-store';

/** An entry's position: `<ms>-<seq>` (a Redis stream id), increasing along the log. */
export type LogEntryId = string;

export type JobLogEntry = { id: LogEntryId; at: number } & ({ kind: 'shard'; shard: ShardDone } | { kind: 'end'; status: TerminalStatus });

/** The log's start: reading "after" it reads every entry. */
export const LOG_START: LogEntryId = '0-0';

export interface JobEventLog {
  /**
   * Entries after each job's position (LOG_START: all), waiting up to `blockMs` while there are
   * none; jobs without new entries are absent from the answer.
   */
  read(after: ReadonlyMap<string, LogEntryId>, blockMs: number): Promise<Map<string, JobLogEntry[]>>;
  close(): Promise<void>;
}

/** `<ms>-<seq>` parsed, or null when `id` is not an entry id. */
export function parseLogEntryId(id: string): [number, number] | null {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Order of two entry ids (negative: `a` comes first). */
export function compareLogEntryIds(a: LogEntryId, b: LogEntryId): number {
  const x = parseLogEntryId(a) ?? [0, 0];
  const y = parseLogEntryId(b) ?? [0, 0];
  return x[0] - y[0] || x[1] - y[1];
}
