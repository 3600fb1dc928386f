import type { RedisClient } from '@event-infra/shared';
import { toError, type Logger } from '@event-infra/shared';
import type { DlqHandler } from './dlq-handler';
import { dlqKeysFor, type DlqKeys } from './stored-entry';

/**
 * Once per store: entries stored before the console's indexes (facets, search text,
 * fingerprint index and counters) are added to them through the `reindex` transition,
 * `batch` at a time, walking the `all` index by rank. Runs in the background at start; when
 * every indexed entry has facets, `dlqKeys.indexVersion()` is set and later starts skip it.
 * Replicas may run it at once: their transitions serialize, a lost one is skipped.
 */
export class IndexBackfill {
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly keys: DlqKeys;

  constructor(private readonly deps: { redis: RedisClient; handler: DlqHandler; logger: Logger }, private readonly batch = 500) {
    this.keys = dlqKeysFor(deps.redis.isCluster);
  }

  start(): void {
    this.running = this.run().then(() => undefined, (caught: unknown) => this.deps.logger.warn({ err: toError(caught) }, 'dlq index backfill failed (runs again at the next start)'));
  }

  /** One full pass; resolves with the entries reindexed. */
  async run(): Promise<number> {
    const { redis } = this.deps;
    if ((await redis.get(this.keys.indexVersion())) === '1') return 0;
    let reindexed = 0;
    for (let rank = 0; !this.stopped; rank += this.batch) {
      const ids = await redis.zrange(this.keys.indexAll(), String(rank), String(rank + this.batch - 1));
      if (ids.length === 0) break;
      const facets = await redis.hmget(this.keys.facets(), ...ids);
      for (const [index, id] of ids.entries()) {
        if (facets[index] === null && (await this.deps.handler.reindex(id))) reindexed += 1;
      }
    }
    if (this.stopped) return reindexed;
    // Entries removed during the pass shift ranks: only a complete count marks it done.
    if ((await redis.hlen(this.keys.facets())) >= (await redis.zcard(this.keys.indexAll()))) await redis.set(this.keys.indexVersion(), '1');
    if (reindexed > 0) this.deps.logger.info({ reindexed }, 'dlq entries added to the console indexes');
    return reindexed;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
