import type { RedisClient } from '@event-infra/shared';
import { ALERT_CHANNEL, toError, type Logger } from '@event-infra/shared';
import { LuaScript } from '@event-infra/shared';
import type { ProcessorMetrics } from './processor-metrics';
import { compareStreamIds, isNoSuchKeyError, nextStreamId, parsePendingReply, xinfoGroups } from './stream-replies';

export interface RetentionJanitorOptions {
  stream: string;
  /** `STREAM_MAXLEN_APPROX` of the publishers; 0 means no cap (no alert). */
  maxLenApprox: number;
  /** Share of the cap at which the alert fires (0..1]. */
  alertRatio: number;
  /** Minimum time between two alerts while the condition lasts, ms. Default 5 minutes. */
  alertRepeatMs?: number;
  /** Alert when the oldest pending entry of a group is older than this, ms; 0: gauge only. */
  pendingAlertAgeMs?: number;
  /** `source` of the alert message. */
  service: string;
  /** `STREAM_RETENTION_MS`: acknowledged entries younger than this are kept, ms; 0: no time limit. Default 0. */
  retentionMs?: number;
  /** `STREAM_RETENTION_MAXLEN`: at most this many newest entries are kept once acknowledged; 0: no length limit. Default 0. */
  retentionMaxLen?: number;
  now?: () => number;
}

/** Most entries one janitor run lets go for the length limit (the next run takes the rest). */
const MAXLEN_STEP = 100_000;
const MAXLEN_POINT = new LuaScript(new URL('./lua/retention-maxlen-point-1.lua', import.meta.url));

export interface RetentionJanitorDeps {
  /** Non-blocking client on the streams Redis. */
  streams: RedisClient;
  /** Client on the master, for the alert message on ALERT_CHANNEL. */
  master: RedisClient;
  metrics: ProcessorMetrics;
  logger: Logger;
}

export interface TrimReport {
  /** XTRIM MINID used (entries below it were removed); null when nothing could be trimmed. */
  trimPoint: string | null;
  trimmed: number;
  length: number;
  alerted: boolean;
}

/**
 * Retention: trims the stream below the oldest entry some group still needs, and (when
 * `retentionMs` / `retentionMaxLen` are set) only below what retention lets go. For each group
 * (every group on the stream, not only ours) that is its oldest pending entry, or the entry
 * after its last-delivered-id when nothing is pending (later entries are undelivered). The
 * minimum over groups is the XTRIM MINID, so no group ever loses an unacknowledged entry.
 * A stream with no group is not trimmed. Pending only shrinks and last-delivered only grows
 * between the look-up and the XTRIM, so the point stays safe while consumers run.
 */
export class RetentionJanitor {
  private readonly logger: Logger;
  private lastAlertAt = 0;
  private lastPendingAlertAt = 0;
  /** Age of the oldest entry pending in any group at the last run, ms (0: none pending). */
  oldestPendingAgeMs = 0;
  /** Last trim point applied, for `/stats`. */
  lastTrimPoint: string | null = null;
  lastRunAt: string | null = null;

  constructor(
    private readonly options: RetentionJanitorOptions,
    private readonly deps: RetentionJanitorDeps,
  ) {
    this.logger = deps.logger.child({ component: 'janitor', stream: options.stream });
  }

  /** The id below which every group has acknowledged everything, or null. */
  async safeTrimPoint(): Promise<string | null> {
    const { stream } = this.options;
    let groups;
    try {
      groups = await xinfoGroups(this.deps.streams, stream);
    } catch (caught) {
      if (isNoSuchKeyError(caught)) return null;
      throw caught;
    }
    let oldestPending: { id: string; group: string } | undefined;
    let point: string | null = null;
    for (const group of groups) {
      let keep = nextStreamId(group.lastDeliveredId);
      if (group.pending > 0) {
        const [oldest] = parsePendingReply(await this.deps.streams.xpending(stream, group.name, '-', '+', 1));
        if (oldest && compareStreamIds(oldest.id, keep) < 0) keep = oldest.id;
        if (oldest && (oldestPending === undefined || compareStreamIds(oldest.id, oldestPending.id) < 0)) oldestPending = { id: oldest.id, group: group.name };
      }
      if (point === null || compareStreamIds(keep, point) < 0) point = keep;
    }
    this.notePending(oldestPending);
    return point;
  }

  /**
   * The age of the oldest pending entry (from its id's time part): a gauge always, an alert
   * past `pendingAlertAgeMs` (a poison entry or a stuck consumer holds the trim point there).
   */
  private notePending(oldest: { id: string; group: string } | undefined): void {
    const now = Date.now();
    const ageMs = oldest === undefined ? 0 : Math.max(0, now - Number(oldest.id.split('-')[0]));
    this.oldestPendingAgeMs = ageMs;
    this.deps.metrics.gauges.oldestPendingAge.set(ageMs / 1000);
    const limit = this.options.pendingAlertAgeMs ?? 0;
    if (oldest === undefined || limit <= 0 || ageMs < limit) return;
    if (now - this.lastPendingAlertAt < (this.options.alertRepeatMs ?? 300_000)) return;
    this.lastPendingAlertAt = now;
    const alert = {
      kind: 'stream-pending-age',
      severity: 'warning',
      source: this.options.service,
      stream: this.options.stream,
      group: oldest.group,
      entryId: oldest.id,
      ageMs,
      message: `entry ${oldest.id} of ${this.options.stream} has been pending in group ${oldest.group} for ${Math.round(ageMs / 1000)} s: the stream cannot be trimmed past it`,
      at: new Date(now).toISOString(),
    };
    this.logger.error(alert, 'oldest pending entry too old');
    this.deps.master.publish(ALERT_CHANNEL, JSON.stringify(alert)).catch((caught: unknown) => {
      this.logger.error({ err: toError(caught) }, 'could not publish the pending-age alert');
    });
  }

  /**
   * The id below which retention lets entries go, or null when no limit is set (then only
   * acknowledgement holds entries: the behaviour before retention). With both limits set, an
   * entry goes once it is past either (older than `retentionMs` or not among the newest
   * `retentionMaxLen`), as Kafka's retention.ms and retention.bytes do.
   */
  async retentionPoint(): Promise<string | null> {
    const retentionMs = this.options.retentionMs ?? 0;
    const maxLen = this.options.retentionMaxLen ?? 0;
    if (retentionMs <= 0 && maxLen <= 0) return null;
    let point = '0-0';
    if (retentionMs > 0) point = `${Math.max(0, (this.options.now ?? Date.now)() - retentionMs)}-0`;
    if (maxLen > 0) {
      const last = (await MAXLEN_POINT.run(this.deps.streams, [this.options.stream], [maxLen, MAXLEN_STEP])) as string | null;
      if (last !== null) {
        const byLength = nextStreamId(last);
        if (compareStreamIds(byLength, point) > 0) point = byLength;
      }
    }
    return point;
  }

  /** Age of the oldest entry still in the stream (from its id), ms; null when the stream is empty. */
  async oldestEntryAgeMs(): Promise<number | null> {
    const [first] = await this.deps.streams.xrange(this.options.stream, '-', '+', 'COUNT', 1);
    if (first === undefined) return null;
    return Math.max(0, (this.options.now ?? Date.now)() - Number(first[0].split('-')[0]));
  }

  async runOnce(): Promise<TrimReport> {
    const safe = await this.safeTrimPoint();
    // Never past what some group still needs; retention may only hold entries back further.
    const kept = safe === null ? null : await this.retentionPoint();
    const point = safe !== null && kept !== null && compareStreamIds(kept, safe) < 0 ? kept : safe;
    let trimmed = 0;
    if (point !== null) {
      trimmed = Number(await this.deps.streams.xtrim(this.options.stream, 'MINID', point));
      this.lastTrimPoint = point;
      if (trimmed > 0) this.logger.info({ trimPoint: point, trimmed }, 'stream trimmed');
    }
    this.lastRunAt = new Date().toISOString();
    const length = await this.deps.streams.xlen(this.options.stream);
    const alerted = await this.checkCap(length);
    return { trimPoint: point, trimmed, length, alerted };
  }

  /**
   * After trimming, what remains is (nearly) all unacknowledged by some group: near the
   * publishers' MAXLEN cap, their XADDs would start dropping it. Gauge always; alert when close.
   */
  private async checkCap(length: number): Promise<boolean> {
    const { maxLenApprox, alertRatio, stream } = this.options;
    if (maxLenApprox <= 0) return false;
    const usage = length / maxLenApprox;
    this.deps.metrics.gauges.capUsage.set(usage);
    if (usage < alertRatio) return false;
    const now = Date.now();
    if (now - this.lastAlertAt < (this.options.alertRepeatMs ?? 300_000)) return false;
    this.lastAlertAt = now;
    const alert = {
      kind: 'stream-cap',
      severity: usage >= 1 ? 'critical' : 'warning',
      source: this.options.service,
      stream,
      length,
      maxLenApprox,
      usage: Number(usage.toFixed(3)),
      message: `stream ${stream} holds ${length} unacknowledged-or-recent entries, ${Math.round(usage * 100)}% of the MAXLEN safety cap: the cap will drop entries some group has not acknowledged`,
      at: new Date(now).toISOString(),
    };
    this.logger.error(alert, 'stream close to its safety cap');
    try {
      await this.deps.master.publish(ALERT_CHANNEL, JSON.stringify(alert));
    } catch (caught) {
      this.logger.error({ err: toError(caught) }, 'could not publish the stream-cap alert');
    }
    return true;
  }
}
