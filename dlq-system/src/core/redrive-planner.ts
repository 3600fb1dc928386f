import { ValidationError, type AuditActor } from '@event-infra/shared';
import type { DlqQuery, ListFilter } from './dlq-query';
import type { RedriveTask, RedriveTaskStore } from './redrive-task';

export interface RedriveRequest {
  /** Listing filter (status is always `parked`), or a fingerprint. */
  filter?: Omit<ListFilter, 'status' | 'fingerprint'>;
  fingerprint?: string;
  rate: number;
  name?: string;
  /** The filter as the client gave it (ISO times), for the task and the audit record. */
  asGiven: Record<string, unknown>;
}

export interface RedrivePlannerOptions {
  /** `DLQ_REDRIVE_MAX_ENTRIES`: most entries one task selects. */
  maxEntries: number;
  /** Entries one selection page returns. */
  pageSize?: number;
}

/**
 * Turns a redrive request into its frozen selection (the parked entries matching it, newest
 * first, read through the same cursor pages as `GET /dlq`) and creates the task over it.
 */
export class RedrivePlanner {
  constructor(
    private readonly deps: { query: DlqQuery; tasks: RedriveTaskStore },
    private readonly options: RedrivePlannerOptions,
  ) {}

  /** The ids a request selects now; 400 when more than `maxEntries` match. */
  async select(request: Pick<RedriveRequest, 'filter' | 'fingerprint'>): Promise<string[]> {
    const filter: ListFilter = { ...(request.filter ?? {}), ...(request.fingerprint !== undefined ? { fingerprint: request.fingerprint } : {}), status: 'parked' };
    const ids: string[] = [];
    let cursor: string | undefined;
    const pageSize = this.options.pageSize ?? 5_000;
    for (;;) {
      const page = await this.deps.query.scanIds(filter, cursor, pageSize);
      ids.push(...page.ids);
      if (ids.length > this.options.maxEntries) {
        const message = `more than ${this.options.maxEntries} parked entries match (DLQ_REDRIVE_MAX_ENTRIES): narrow the filter`;
        throw new ValidationError(`invalid body: ${message}`, [{ path: 'filter', message }]);
      }
      if (page.nextCursor === null) return ids;
      cursor = page.nextCursor;
    }
  }

  /** Creates task `id` over `selection` (from `select`): `pending`, or `done` when it is empty. */
  async create(id: string, request: RedriveRequest, createdBy: AuditActor, selection: readonly string[]): Promise<RedriveTask> {
    return this.deps.tasks.create(
      {
        id,
        name: request.name ?? null,
        filter: request.fingerprint === undefined ? request.asGiven : null,
        fingerprint: request.fingerprint ?? null,
        rate: request.rate,
        createdBy,
      },
      selection,
    );
  }
}
