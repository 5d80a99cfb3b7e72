/**
 * Alert rules, the Grafana dashboard, the KEDA trigger and the ServiceMonitor held against the
 * metric catalogue (libs/jobs/src/observability/metric-catalogue.ts) and the code: every PromQL
 * expression parses with Prometheus's grammar and names only catalogued metrics, labels and label
 * values; the scrape config reaches /metrics on the port each process listens on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, SHARD_PRIORITY } from '@rerank/jobs';
import { METRIC_CATALOGUE } from '../../libs/jobs/src/observability/metric-catalogue';
import { render, type Obj } from './support/kustomize';
import { checkPromql } from './support/promql';

const ROOT = join(__dirname, '..', '..');
const overlay = render(join(ROOT, 'deploy', 'k8s', 'overlays', 'production')).map((r) => r.obj);
const find = (kind: string, name: string): Obj => {
  const o = overlay.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} is not in the production overlay`);
  return o;
};
const ok = (expr: string) => checkPromql(expr, METRIC_CATALOGUE).problems;

describe('the metric catalogue', () => {
  it('follows Prometheus conventions: unique names, _total counters, units, bounded labels', () => {
    const names = METRIC_CATALOGUE.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRIC_CATALOGUE) {
      expect({ name: m.name, prefix: m.name.startsWith('rerank_') }).toEqual({ name: m.name, prefix: true });
      expect({ name: m.name, counterSuffix: m.name.endsWith('_total') }).toEqual({ name: m.name, counterSuffix: m.type === 'counter' });
      expect({ name: m.name, help: m.help.length > 10 }).toEqual({ name: m.name, help: true });
      // Ids as labels would make one series per job: unbounded.
      for (const l of m.labels)
        expect({ name: m.name, label: l, bounded: !/(^|_)(id|job|shard|request|key)$/.test(l) }).toEqual({
          name: m.name,
          label: l,
          bounded: true,
        });
      for (const l of Object.keys(m.values ?? {}))
        expect({ name: m.name, valuesFor: l, isLabel: m.labels.includes(l) }).toEqual({ name: m.name, valuesFor: l, isLabel: true });
    }
    expect(names.filter((n) => /seconds/.test(n)).every((n) => n.endsWith('_seconds'))).toBe(true);
  });

  it('the checker reports unknown metrics, labels and values, bad grouping and syntax errors', () => {
    expect(ok('sum(rate(rerank_jobs_total{outcome="failed"}[5m]))')).toEqual([]);
    expect(ok('histogram_quantile(0.9, sum by (le, route) (rate(rerank_http_request_duration_seconds_bucket[$__rate_interval])))')).toEqual(
      [],
    );
    expect(ok('rerank_jobs_totl')).toEqual(['rerank_jobs_totl: not in the metric catalogue']);
    // A histogram is only scraped as _bucket/_sum/_count.
    expect(ok('rerank_job_duration_seconds')).toEqual(['rerank_job_duration_seconds: not in the metric catalogue']);
    expect(ok('rerank_jobs_total{model="x"}')).toEqual(['rerank_jobs_total: no label "model" (labels: outcome)']);
    expect(ok('rerank_jobs_total{outcome=~"completed|faild"}')).toEqual([
      'rerank_jobs_total: outcome="faild" is not one of accepted, completed, failed, cancelled',
    ]);
    expect(ok('rerank_queue_jobs{queue="shard"}')).toEqual(['rerank_queue_jobs: queue="shard" is not one of shards, aggregate, webhooks']);
    expect(ok('sum by (device) (rerank_workers_live)')).toEqual(['grouping label "device" is on none of the metrics used']);
    expect(ok('sum by (le) (rerank_jobs_total)')).toEqual(['grouping label "le" is on none of the metrics used']);
    expect(ok('sum(rate(rerank_jobs_total[5m])')[0]).toMatch(/^syntax error at /);
  });
});

describe('alert rules (PrometheusRule)', () => {
  const rules = (find('PrometheusRule', 'rerank').spec.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
  const alert = (name: string): Obj => {
    const r = rules.find((x) => x.alert === name);
    if (!r) throw new Error(`no alert ${name}`);
    return r;
  };
  const docs = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
  const anchors = new Set(
    [...docs.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );

  it('every expression parses and uses only catalogued metrics, labels and values', () => {
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const r of rules) expect({ alert: r.alert, problems: ok(r.expr as string) }).toEqual({ alert: r.alert, problems: [] });
  });

  it('each alert waits (for:), has a severity, a summary and a runbook section in docs/deploy.md', () => {
    for (const r of rules) {
      expect({ alert: r.alert, for: /^\d+[smh]$/.test(String(r.for)), severity: r.labels?.severity }).toEqual({
        alert: r.alert,
        for: true,
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
      expect({ alert: r.alert, summary: typeof r.annotations?.summary }).toEqual({ alert: r.alert, summary: 'string' });
      const m = /^docs\/deploy\.md#(.+)$/.exec(String(r.annotations?.runbook_url));
      expect({ alert: r.alert, runbook: m?.[1], found: Boolean(m && anchors.has(m[1])) }).toEqual({
        alert: r.alert,
        runbook: r.alert.toLowerCase(),
        found: true,
      });
    }
  });

  it('covers backlog age, failed jobs, webhook failures and a model without a live worker (per model)', () => {
    const backlog = checkPromql(alert('RerankBacklogTooOld').expr as string, METRIC_CATALOGUE);
    expect(backlog.selectors.map((s) => s.metric)).toEqual(['rerank_queue_oldest_waiting_age_seconds']);
    expect(alert('RerankBacklogTooOld').expr).toMatch(/> 600$/);
    expect(backlog.grouping).toEqual(['queue', 'model']);

    const failed = checkPromql(alert('RerankJobsFailing').expr as string, METRIC_CATALOGUE);
    expect(failed.selectors).toEqual([
      { metric: 'rerank_jobs_total', matchers: [{ label: 'outcome', op: '=', value: 'failed' }] },
      { metric: 'rerank_jobs_total', matchers: [{ label: 'outcome', op: '=~', value: 'completed|failed' }] },
    ]);
    const webhooks = checkPromql(alert('RerankWebhookDeliveriesFailing').expr as string, METRIC_CATALOGUE);
    expect(webhooks.selectors[0]).toEqual({
      metric: 'rerank_webhook_deliveries_total',
      matchers: [{ label: 'outcome', op: '=', value: 'failed' }],
    });

    // One alert per model: the gauge's model label survives the aggregation.
    expect(alert('RerankNoLiveWorker').expr).toBe('max by (model) (rerank_workers_live{model!="bge-reranker-v2-gemma"}) == 0');
    expect(alert('RerankModelNotWaking').labels.severity).toBe('critical');
    expect(alert('RerankNoLiveWorker').labels.severity).toBe('critical');
  });
});

describe('Grafana dashboard', () => {
  const cm = find('ConfigMap', 'rerank-grafana-dashboard');
  const dashboard = JSON.parse(cm.data['rerank-dashboard.json'] as string) as Obj;
  const panels = (dashboard.panels as Obj[]).filter((p) => p.type !== 'row');

  it("is shipped as a ConfigMap for Grafana's dashboard sidecar, with a Prometheus datasource variable", () => {
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(dashboard.uid).toBe('rerank-service');
    const vars = dashboard.templating.list as Obj[];
    expect(vars.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels)
      for (const t of p.targets as Obj[]) expect({ panel: p.title, ds: t.datasource.uid }).toEqual({ panel: p.title, ds: '${datasource}' });
  });

  it('every query parses and uses only catalogued metrics, labels and values', () => {
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) {
      expect((p.targets as Obj[]).length).toBeGreaterThan(0);
      for (const t of p.targets as Obj[])
        expect({ panel: p.title, problems: ok(t.expr as string) }).toEqual({ panel: p.title, problems: [] });
    }
    // Template variable queries: label_values(metric, label).
    for (const v of (dashboard.templating.list as Obj[]).filter((x) => x.type === 'query')) {
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(v.query.query as string)!;
      expect(m).not.toBeNull();
      const spec = METRIC_CATALOGUE.find((x) => x.name === m[1]);
      expect({ variable: v.name, labels: spec?.labels.includes(m[2]) }).toEqual({ variable: v.name, labels: true });
    }
  });

  it('shows every metric of the catalogue, and panels have unique ids and fit the 24-column grid', () => {
    const used = new Set(
      panels.flatMap((p) =>
        (p.targets as Obj[]).flatMap((t) =>
          checkPromql(t.expr as string, METRIC_CATALOGUE).selectors.map((s) => s.metric.replace(/_(bucket|sum|count)$/, '')),
        ),
      ),
    );
    expect(METRIC_CATALOGUE.map((m) => m.name).filter((n) => !used.has(n))).toEqual([]);
    const ids = (dashboard.panels as Obj[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels as Obj[])
      expect({ panel: p.title, fits: p.gridPos.x + p.gridPos.w <= 24 }).toEqual({ panel: p.title, fits: true });
  });
});

describe('KEDA ScaledObjects: one per model, each on its own queue (model placement)', () => {
  const scaledObjects = overlay.filter((o) => o.kind === 'ScaledObject');
  const deployments = overlay.filter((o) => o.kind === 'Deployment');
  /** A container's environment: the ConfigMaps of envFrom, then its own `value`s. */
  const envOf = (d: Obj): Record<string, string> => {
    const c = d.spec.template.spec.containers[0] as Obj;
    const env: Record<string, string> = {};
    for (const from of (c.envFrom ?? []) as Obj[])
      if (from.configMapRef) Object.assign(env, find('ConfigMap', from.configMapRef.name as string).data);
    for (const e of (c.env ?? []) as Obj[]) if ('value' in e) env[e.name as string] = e.value as string;
    return env;
  };
  const api = deployments.find((d) => String(d.spec.template.spec.containers[0].command).includes('/api/'))!;
  const apiConfig = loadConfig({ ...envOf(api), RERANK_API_KEYS: 'ops:0123456789abcdef' }, { requireModels: true });
  /** The model a trigger's query reads: its one `model="..."` matcher. */
  const triggerModel = (so: Obj): string | undefined => {
    const q = checkPromql((so.spec.triggers as Obj[])[0].metadata.query as string, METRIC_CATALOGUE);
    const m = q.selectors.flatMap((sel) => sel.matchers).filter((x) => x.label === 'model');
    return m.length === 1 && m[0].op === '=' ? m[0].value : undefined;
  };
  const targetOf = (so: Obj): Obj | undefined =>
    deployments.find((d) => so.spec.scaleTargetRef.kind === 'Deployment' && d.metadata.name === so.spec.scaleTargetRef.name);

  it('each targets an existing GPU worker Deployment named after it, which no HPA also scales', () => {
    expect(scaledObjects.length).toBeGreaterThanOrEqual(2);
    const hpaTargets = overlay.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name);
    for (const so of scaledObjects) {
      const target = targetOf(so);
      expect({ so: so.metadata.name, target: target?.metadata.name }).toEqual({ so: so.metadata.name, target: so.metadata.name });
      expect(target!.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBeGreaterThan(0);
      expect(hpaTargets).not.toContain(target!.metadata.name);
      expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount);
    }
  });

  it("each trigger reads the shard backlog of exactly its Deployment's RERANK_WORKER_MODELS, counting prioritized shards", () => {
    for (const so of scaledObjects) {
      const trigger = (so.spec.triggers as Obj[])[0];
      expect(trigger.type).toBe('prometheus');
      const q = checkPromql(trigger.metadata.query as string, METRIC_CATALOGUE);
      expect(q.problems).toEqual([]);
      const model = triggerModel(so);
      expect(q.selectors).toEqual([
        {
          metric: 'rerank_queue_jobs',
          matchers: [
            { label: 'queue', op: '=', value: 'shards' },
            { label: 'model', op: '=', value: model },
            { label: 'state', op: '=~', value: 'waiting|prioritized|active' },
          ],
        },
      ]);
      expect({ so: so.metadata.name, workerModels: envOf(targetOf(so)!).RERANK_WORKER_MODELS }).toEqual({
        so: so.metadata.name,
        workerModels: model,
      });
      expect(Number(trigger.metadata.threshold)).toBeGreaterThan(0);
    }
    // Job shards carry a BullMQ priority, so BullMQ keeps them in the prioritized set, not the wait list.
    expect(SHARD_PRIORITY).toBeGreaterThan(0);
  });

  it("every model of the API's RERANK_MODELS has exactly one scaled worker Deployment", () => {
    const scaledModels = scaledObjects.map(triggerModel);
    expect(apiConfig.models.list.map((m) => m.name)).toEqual(['bge-reranker-v2-m3', 'bge-reranker-v2-gemma']);
    for (const { name } of apiConfig.models.list)
      expect({ model: name, scaledDeployments: scaledModels.filter((m) => m === name).length }).toEqual({
        model: name,
        scaledDeployments: 1,
      });
    expect([...scaledModels].sort()).toEqual(apiConfig.models.list.map((m) => m.name).sort());
  });

  it('a ScaledObject with minReplicaCount 0 needs an API that queues jobs for a model without workers (sync or none)', () => {
    const toZero = scaledObjects.filter((so) => so.spec.minReplicaCount === 0);
    // The LLM reranker scales to zero; the encoder keeps a pod.
    expect(toZero.map(triggerModel)).toEqual(['bge-reranker-v2-gemma']);
    expect(['sync', 'none']).toContain(apiConfig.api.refuseUnserved);
    // The check bites: the default (all) would refuse the job that wakes the scaler.
    expect(loadConfig({ ...envOf(api), RERANK_API_KEYS: 'ops:0123456789abcdef', RERANK_REFUSE_UNSERVED: '' }).api.refuseUnserved).toBe(
      'all',
    );
  });

  it('RerankNoLiveWorker leaves out exactly the models that scale to zero; RerankModelNotWaking covers every model', () => {
    const rules = (find('PrometheusRule', 'rerank').spec.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
    const noWorker = checkPromql(rules.find((r) => r.alert === 'RerankNoLiveWorker')!.expr as string, METRIC_CATALOGUE);
    const excluded = noWorker.selectors[0].matchers.filter((m) => m.label === 'model' && m.op === '!=').map((m) => m.value);
    expect(excluded).toEqual(scaledObjects.filter((so) => so.spec.minReplicaCount === 0).map(triggerModel));
    const waking = checkPromql(rules.find((r) => r.alert === 'RerankModelNotWaking')!.expr as string, METRIC_CATALOGUE);
    expect(waking.selectors.flatMap((sel) => sel.matchers).filter((m) => m.label === 'model')).toEqual([]);
    expect(waking.grouping).toEqual(['model', 'model', 'model', 'model', 'state']);
  });
});

describe('ServiceMonitor', () => {
  const sm = find('ServiceMonitor', 'rerank');
  const services = overlay.filter((o) => o.kind === 'Service');
  const workloads = overlay.filter((o) => o.kind === 'Deployment');
  const selected = services.filter((s) => {
    const labels = (s.metadata.labels ?? {}) as Obj;
    const match = Object.entries(sm.spec.selector.matchLabels as Obj).every(([k, v]) => labels[k] === v);
    return (
      match &&
      (sm.spec.selector.matchExpressions as Obj[]).every((e) => e.operator === 'In' && (e.values as string[]).includes(labels[e.key]))
    );
  });

  it('scrapes /metrics of the API, the aggregator and every worker launcher, on the port the process listens on', () => {
    const scraped = new Map<string, number>();
    for (const svc of selected) {
      const pod = workloads.find((w) =>
        Object.entries(svc.spec.selector as Obj).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      )!;
      const c = pod.spec.template.spec.containers[0] as Obj;
      const env = Object.fromEntries(((c.env ?? []) as Obj[]).map((e) => [e.name, e.value]));
      const script = String((c.command as string[])[1]);
      const listens = script.includes('/api/') ? Number(env.PORT ?? 3000) : Number(env.HEALTH_PORT);
      for (const ep of sm.spec.endpoints as Obj[]) {
        const port = (svc.spec.ports as Obj[]).find((p) => p.name === ep.port);
        if (!port) continue;
        expect(ep.path).toBe('/metrics');
        const containerPort = (c.ports as Obj[]).find((p) => p.name === port.targetPort || p.containerPort === port.targetPort)!
          .containerPort as number;
        expect({ service: svc.metadata.name, containerPort }).toEqual({ service: svc.metadata.name, containerPort: listens });
        scraped.set(pod.metadata.name as string, containerPort);
      }
    }
    expect(Object.fromEntries(scraped)).toEqual({
      'rerank-api': 3000,
      'rerank-aggregator': 8082,
      'rerank-worker-gpu-bge-reranker-v2-m3': 8081,
      'rerank-worker-gpu-bge-reranker-v2-gemma': 8081,
      'rerank-worker-cpu': 8081,
    });
    // Redis has no /metrics of ours.
    expect(selected.map((s) => s.metadata.name)).not.toContain('rerank-redis');
  });
});
