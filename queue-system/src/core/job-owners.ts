import { createBatch } from '@event-infra/shared';
import type { RedisClient } from '@event-infra/shared';
import { jobOwnerKey } from '@event-infra/shared';

/** How long the owner of a job is remembered: longer than any job can wait and run (7 d delay cap). */
export const JOB_OWNER_TTL_SEC = 30 * 86_400;

/**
 * Who submitted a job, for principals that may read only their own submissions
 * (`publisher`). Kept on the queue Redis beside the job, set only by the stack after the job
 * was created, never taken from the request.
 */
export class JobOwners {
  constructor(private readonly redis: RedisClient) {}

  async set(queue: string, jobIds: readonly string[], owner: string): Promise<void> {
    if (jobIds.length === 0) return;
    const pipeline = createBatch(this.redis);
    // NX: a job id that already existed keeps its first owner.
    for (const id of jobIds) pipeline.set(jobOwnerKey(queue, id), owner, 'EX', JOB_OWNER_TTL_SEC, 'NX');
    await pipeline.exec();
  }

  async get(queue: string, jobId: string): Promise<string | undefined> {
    return (await this.redis.get(jobOwnerKey(queue, jobId))) ?? undefined;
  }
}
