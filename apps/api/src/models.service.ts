import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type Family, familyFromName, TENANT_CREDIT_MS } from '@rerank/engine';
import {
  ASSUMED_CHARS_PER_SECOND,
  HEARTBEAT_INTERVAL_MS,
  type KnownModel,
  type ModelConfig,
  type ModelFacts,
  readModelFacts,
  type RerankConfig,
  retryLater,
  type WorkerHeartbeat,
  type WorkersRegistry,
} from '@rerank/jobs';
import { CONFIG, WORKERS_REGISTRY } from './tokens';

/** Retry-After of a request for a model without a live worker: about when a starting worker's heartbeat shows. */
export const UNSERVED_RETRY_AFTER_S = 5;

/** Configured models, their families, and which live workers have them loaded (from heartbeats). */
@Injectable()
export class ModelsService implements OnModuleInit, OnModuleDestroy {
  private workers: WorkerHeartbeat[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Facts read from model directories on this node's disk (the stack's case); API nodes need none. */
  private readonly local = new Map<string, ModelFacts>();

  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'models' | 'api'>,
    @Inject(WORKERS_REGISTRY) private readonly registry: Pick<WorkersRegistry, 'live'>,
  ) {
    for (const m of config.models.list) this.local.set(m.name, readModelFacts(m.path, m.family));
  }

  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<WorkerHeartbeat[]> {
    try {
      this.workers = await this.registry.live();
    } catch {
      // Redis down: readiness reports it; keep the last list.
    }
    return this.workers;
  }

  get configured(): readonly ModelConfig[] {
    return this.config.models.list;
  }

  private workerModel(name: string) {
    for (const w of this.workers) {
      const m = w.models.find((x) => x.name === name);
      if (m) return m;
    }
    return undefined;
  }

  family(m: ModelConfig): Family | undefined {
    return m.family ?? this.local.get(m.name)?.family ?? familyFromName(m.path) ?? this.workerModel(m.name)?.family;
  }

  generated(m: ModelConfig): boolean {
    return m.generated === true || this.local.get(m.name)?.generated === true || this.workerModel(m.name)?.generated === true;
  }

  /** For request validation: names and (when known) families. */
  known(): KnownModel[] {
    return this.config.models.list.map((m) => {
      const local = this.local.get(m.name);
      const remote = this.workerModel(m.name);
      const layers = local?.layers ?? remote?.layers;
      const compression = local?.compression ?? remote?.compression;
      const maxPositions = local?.maxPositions ?? remote?.maxPositions;
      const decoderParts = local?.decoderParts ?? remote?.decoderParts;
      const maxLength = local?.maxLength ?? remote?.maxLength;
      const truncation = local?.truncation ?? remote?.truncation;
      const chatFrame = local?.chatFrame ?? remote?.chatFrame;
      return {
        name: m.name,
        family: this.family(m),
        ...(layers ? { layers } : {}),
        ...(compression ? { compression } : {}),
        ...(m.options ? { options: m.options } : {}),
        ...(maxPositions !== undefined ? { maxPositions } : {}),
        ...(decoderParts ? { decoderParts } : {}),
        ...(maxLength !== undefined ? { maxLength } : {}),
        ...(truncation ? { truncation } : {}),
        ...(chatFrame !== undefined ? { chatFrame } : {}),
      };
    });
  }

  /** Live workers (loading or ready; not stopping) that serve `model`. */
  serving(model: string): WorkerHeartbeat[] {
    return this.workers.filter((w) => w.state !== 'stopping' && w.models.some((m) => m.name === model));
  }

  /**
   * Model placement: 503 unavailable with Retry-After unless a live worker serves `model`
   * (RERANK_REFUSE_UNSERVED says for which requests). The cached heartbeats are read again once
   * before refusing, so a worker that just started is not missed.
   */
  async requireServed(model: string, kind: 'sync' | 'job'): Promise<void> {
    const mode = this.config.api.refuseUnserved;
    if (mode === 'none' || (mode === 'sync' && kind === 'job')) return;
    if (this.serving(model).length > 0) return;
    await this.refresh();
    if (this.serving(model).length > 0) return;
    const elsewhere = [...new Set(this.workers.flatMap((w) => w.models.map((m) => m.name)))].filter((n) => n !== model).sort();
    throw retryLater(
      503,
      'unavailable',
      `model "${model}" has no live worker (${elsewhere.length ? `live workers serve ${elsewhere.join(', ')}` : 'no worker is live'}); start a worker with RERANK_WORKER_MODELS including ${model} (or unset), then retry; nothing was stored`,
      UNSERVED_RETRY_AFTER_S,
      { extra: { model } },
    );
  }

  /**
   * The one fairness credit in characters for `model`'s queue: what its live workers score in the
   * engine's TENANT_CREDIT_MS at the throughput they report (ASSUMED_CHARS_PER_SECOND while none has).
   */
  creditChars(model: string): number {
    const reported = this.serving(model).reduce((sum, w) => sum + (w.charsPerSecond ?? 0), 0);
    return ((reported > 0 ? reported : ASSUMED_CHARS_PER_SECOND) * TENANT_CREDIT_MS) / 1000;
  }

  liveWorkers(): WorkerHeartbeat[] {
    return this.workers;
  }

  /** Clients see names, families and readiness; never the server's model paths. */
  list() {
    return {
      object: 'list',
      data: this.known().map((k) => {
        const m = this.config.models.list.find((x) => x.name === k.name) as ModelConfig;
        const workers = this.workers.filter((w) => w.state === 'ready' && w.models.some((x) => x.name === m.name));
        const generated = this.generated(m);
        return {
          id: m.name,
          object: 'model',
          family: k.family ?? null,
          // Limits, as a request meets them: the default max_length (a model's options may set another), the positions, the truncation.
          max_length: typeof m.options?.maxLength === 'number' ? m.options.maxLength : (k.maxLength ?? null),
          max_positions: k.maxPositions ?? null,
          ...(k.family === 'encoder' ? { truncation: (m.options?.truncation as string | undefined) ?? k.truncation ?? null } : {}),
          generated_test_model: generated,
          ...(generated
            ? {
                note: 'GENERATED TEST MODEL: random weights for trying the service out; its scores mean nothing. Set RERANK_MODELS to serve a real reranker.',
              }
            : {}),
          ready: workers.length > 0,
          // Placement: where the model runs (ready workers, their devices and hosts).
          workers: workers.map((w) => ({ id: w.id, device: w.device, host: w.host })),
          devices: [...new Set(workers.map((w) => w.device))].sort(),
          hosts: [...new Set(workers.map((w) => w.host))].sort(),
        };
      }),
    };
  }
}
