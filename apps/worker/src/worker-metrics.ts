/**
 * Worker metrics reach Prometheus through the launcher's health port: on each scrape the launcher
 * asks every live worker over its IPC channel (the one that already carries "ready") for its
 * registry as JSON, and merges the answers with prom-client's AggregatorRegistry.aggregate:
 * counters and histograms add up, gauges average (two CPU workers share device="cpu").
 * Pull on scrape keeps each worker's numbers in its own process (no push timers, nothing stale
 * when a worker died: its series simply go, a counter reset Prometheus's rate() handles).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Metrics } from '@rerank/jobs';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

interface MetricsRequest {
  type: 'metrics?';
  id: string;
}
interface MetricsReply {
  type: 'metrics';
  id: string;
  metrics: MetricJson[];
}

/** How long the launcher waits for a worker's answer; a busy event loop answers late, the scrape goes on without it. */
export const WORKER_METRICS_TIMEOUT_MS = 2000;

/** Worker side: answers the launcher's requests; `beforeRead` refreshes gauges read at scrape time (busy ratio). */
export function answerMetricsRequests(metrics: Metrics, beforeRead: () => void): void {
  process.on('message', (m: Partial<MetricsRequest>) => {
    if (m?.type !== 'metrics?' || typeof m.id !== 'string' || !process.send) return;
    const id = m.id;
    beforeRead();
    void metrics.registry.getMetricsAsJSON().then((json) => process.send?.({ type: 'metrics', id, metrics: json } satisfies MetricsReply));
  });
}

/** Launcher side: one worker's metrics as JSON, or null when it does not answer in time. */
export function requestWorkerMetrics(child: ChildProcess, timeoutMs = WORKER_METRICS_TIMEOUT_MS): Promise<MetricJson[] | null> {
  if (!child.connected) return Promise.resolve(null);
  const id = randomUUID();
  return new Promise((resolve) => {
    const done = (value: MetricJson[] | null) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(value);
    };
    const onMessage = (m: Partial<MetricsReply>) => {
      if (m?.type === 'metrics' && m.id === id && Array.isArray(m.metrics)) done(m.metrics);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    child.on('message', onMessage);
    try {
      child.send({ type: 'metrics?', id } satisfies MetricsRequest);
    } catch {
      done(null);
    }
  });
}

/** The launcher's /metrics: its workers' registries merged into one exposition. */
export async function launcherMetrics(children: readonly ChildProcess[]): Promise<{ contentType: string; text: string }> {
  const answers = (await Promise.all(children.map((c) => requestWorkerMetrics(c)))).filter((a): a is MetricJson[] => a !== null);
  const merged = AggregatorRegistry.aggregate(answers);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
