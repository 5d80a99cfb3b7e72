/** CancelSignals on Redis pub/sub: one channel (keys.cancels), a message `<kind>:<id>`; subscribers on a connection of their own. */
import type { Redis } from 'ioredis';
import type { CancelSignals, CancelTarget } from '../ports/cancel-signals';
import { keys } from './keys';

export class RedisCancelSignals implements CancelSignals {
  private subscriber: Redis | undefined;

  constructor(private readonly redis: Redis) {}

  async publish(target: CancelTarget): Promise<void> {
    await this.redis.publish(keys.cancels, `${target.kind}:${target.id}`);
  }

  async subscribe(handler: (target: CancelTarget) => void): Promise<void> {
    // A subscribed connection takes no other command: a duplicate of the client (it resubscribes after a reconnect).
    const sub = (this.subscriber ??= this.redis.duplicate());
    sub.on('message', (channel: string, message: string) => {
      if (channel !== keys.cancels) return;
      const colon = message.indexOf(':');
      const kind = message.slice(0, colon);
      if (kind === 'job' || kind === 'sync') handler({ kind, id: message.slice(colon + 1) });
    });
    await sub.subscribe(keys.cancels);
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }
}
