/** WebhookStates on Redis: delivery fields of the job hash, written only while the hash exists (update-existing-1.lua). */
import type { Redis } from 'ioredis';
import type { TerminalStatus } from '../queues';
import type { WebhookOutcome, WebhookStates } from '../ports/job-store';
import { JOB_FIELDS as F } from './job-hash';
import { keys } from './keys';
import { runScript } from './scripts';

export class RedisWebhookStates implements WebhookStates {
  constructor(private readonly redis: Redis) {}

  async recordWebhookAttempt(id: string, event: TerminalStatus, at: number): Promise<number | null> {
    const n = Number(
      await runScript(
        this.redis,
        'webhook-attempt',
        [keys.job(id)],
        [F.webhookAttempts, F.webhookEvent, event, F.webhookLastAttemptAt, at],
      ),
    );
    return n > 0 ? n : null;
  }

  async recordWebhookOutcome(id: string, o: WebhookOutcome): Promise<void> {
    await this.#updateExisting(
      id,
      o.state === 'delivered'
        ? [F.webhookState, 'delivered', F.webhookLastStatus, o.status ?? '', F.webhookLastError, '', F.webhookDeliveredAt, o.at]
        : [F.webhookState, o.state, F.webhookLastStatus, o.status ?? '', F.webhookLastError, o.error],
    );
  }

  /** One round trip; a job hash that expired is not recreated (it would have no TTL). */
  async #updateExisting(id: string, fieldsAndValues: (string | number)[]): Promise<void> {
    await runScript(this.redis, 'update-existing', [keys.job(id)], fieldsAndValues);
  }
}
