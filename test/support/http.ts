/** A small JSON client for the API under test. */
export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export class ApiClient {
  constructor(
    readonly base: string,
    readonly key?: string,
  ) {}

  withKey(key: string | undefined): ApiClient {
    return new ApiClient(this.base, key);
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    rawBody?: string,
  ): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.key) h.authorization = `Bearer ${this.key}`;
    let payload: string | undefined = rawBody;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    const r = await fetch(this.base + path, { method, headers: h, body: payload });
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: r.status, body: parsed as T, text, headers: r.headers };
  }

  post<T = any>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  del<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** Every score of a completed single-query job (`results?all=true`, JSON lines), by document index. */
  async allScores(id: string): Promise<number[]> {
    const r = await this.get(`/v1/jobs/${id}/results?all=true`);
    if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}/results?all=true: ${r.status} ${r.text}`);
    const scores: number[] = [];
    for (const line of r.text.trimEnd().split('\n')) {
      const l = JSON.parse(line) as { index: number; score: number };
      scores[l.index] = l.score;
    }
    return scores;
  }

  /** Polls a job until it is completed, failed or cancelled; calls `onView` with each view. */
  async waitJob(id: string, timeoutMs = 120000, onView?: (v: any) => void, everyMs = 100): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.get(`/v1/jobs/${id}`);
      if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: ${r.status} ${r.text}`);
      onView?.(r.body);
      if (['completed', 'failed', 'cancelled'].includes(r.body.status)) return r.body;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${r.body.status} after ${timeoutMs} ms: ${r.text}`);
      await new Promise((res) => setTimeout(res, everyMs));
    }
  }
}
