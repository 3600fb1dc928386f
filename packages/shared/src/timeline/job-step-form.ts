import type { EncodedBytes } from '../redis/encoded-bytes';
import { jobCauseId } from '../trace/job-trace';
import type { TimelineStepInput, TimelineStepKind } from './timeline-step';

const ZERO_CAUSE = Buffer.from('",0,');
const CAUSE_OPENING = Buffer.from('",');
const COMMA = Buffer.from(',');
const NULL = Buffer.from('null');
const CLOSE = Buffer.from('}]');

/** A JSON object key written as it is between quotes, and not integer-like (JSON.stringify would write it first). */
const PLAIN_KEY = /^(?![0-9])[A-Za-z0-9_]+$/;

/**
 * The stored form of one kind of job step whose detail is two numbers (`job.started`:
 * `{attempt, maxAttempts}`, `job.completed`: `{attempt, durationMs}`), for one queue and one
 * recorder: what is the same for every job made into bytes once (`["<kind>","job:<queue>:`,
 * `,"<service>",{"<first key>":`, `,"<second key>":`), so that a step costs its job id, its
 * cause, its time and two numbers written between them (docs/benchmarks/timeline-cost.md: the job drain's
 * steps). The bytes are those `encodeStep` writes for `input(…)`'s step (a seeded test checks
 * it); `TimelineRecorder.recordJobStep` falls back to the plain path when they would not be
 * (a queue name that JSON escapes, a value that is not a number).
 */
export class JobStepForm {
  /** `["<kind>","job:<queue>:` (undefined: the queue's name needs escaping, every step takes the plain path). */
  private readonly opening: Buffer | undefined;
  /** `,"<service>",{"<first key>":` */
  private readonly middle: Buffer;
  /** `,"<second key>":` */
  private readonly secondKeyBytes: Buffer;

  constructor(
    readonly kind: TimelineStepKind,
    readonly queue: string,
    readonly firstKey: string,
    readonly secondKey: string,
    serviceJson: string,
  ) {
    if (!PLAIN_KEY.test(firstKey) || !PLAIN_KEY.test(secondKey) || firstKey === secondKey) throw new RangeError(`JobStepForm: keys must be distinct plain names, not ${firstKey}, ${secondKey}`);
    const subjectStart = jobCauseId(queue, '');
    const quoted = JSON.stringify(subjectStart);
    this.opening = quoted === `"${subjectStart}"` ? Buffer.from(`["${kind}",${quoted.slice(0, -1)}`, 'utf8') : undefined;
    this.middle = Buffer.from(`,${serviceJson},{"${firstKey}":`, 'utf8');
    this.secondKeyBytes = Buffer.from(`,"${secondKey}":`, 'utf8');
  }

  /** Whether `write` writes this step's stored form (else `input`'s step goes the plain way). */
  fits(first: unknown, second: unknown): boolean {
    return this.opening !== undefined && typeof first === 'number' && typeof second === 'number';
  }

  /** The same step as the plain path records it. */
  input(jobId: string, cause: string | undefined, first: number, second: number, atMs?: number): TimelineStepInput {
    return { kind: this.kind, subject: jobCauseId(this.queue, jobId), cause, detail: { [this.firstKey]: first, [this.secondKey]: second }, atMs };
  }

  /** Writes the step's stored form into the argument begun (only when `fits`). */
  write(out: EncodedBytes, jobId: string, cause: string | undefined, atMs: number, first: number, second: number): void {
    out.pieceBytes(this.opening!);
    out.pieceJsonStringBody(jobId);
    if (cause === undefined) out.pieceBytes(ZERO_CAUSE);
    else {
      out.pieceBytes(CAUSE_OPENING);
      out.pieceJsonString(cause);
      out.pieceBytes(COMMA);
    }
    out.pieceNumber(atMs);
    out.pieceBytes(this.middle);
    // As JSON.stringify writes a number: its digits when finite, else null.
    if (Number.isFinite(first)) out.pieceNumber(first);
    else out.pieceBytes(NULL);
    out.pieceBytes(this.secondKeyBytes);
    if (Number.isFinite(second)) out.pieceNumber(second);
    else out.pieceBytes(NULL);
    out.pieceBytes(CLOSE);
  }
}
