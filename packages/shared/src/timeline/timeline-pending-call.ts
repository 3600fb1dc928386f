import { BytesCommand, EncodedBytes } from '../redis/encoded-bytes';
import { STEPS_FIELD_PREFIX } from './timeline-layout';
import type { TimelineStepInput } from './timeline-step';
import { writeStepPieces, type DetailKeys } from './timeline-step-bytes';
import type { JobStepForm } from './job-step-form';

/** `timelineStepsField`'s prefix as bytes. */
const STEPS_FIELD_PREFIX_BYTES = Buffer.from(STEPS_FIELD_PREFIX);

/** "\n" between two steps of one entry. */
const NEWLINE = Buffer.from('\n');

/** `<count>\n` of an entry that a second step joins (the stored form of two or more steps). */
const TWO_STEPS = Buffer.from('2\n');

/** Steps one entry holds at most (its count is one digit, bumped in place; the script relies on it). */
const STEPS_PER_ENTRY = 9;

/**
 * The arguments of one script call as `record` collects them, RESP-encoded (no object per step):
 * per entry its correlation's field and its value in the stored form (written straight into a
 * Buffer: one step as it is, or `<count>\n` and the steps, "\n" between them); per look-up its
 * field and the correlation. A step of the same correlation as the entry just written joins it
 * (a job's `job.started` and its end, when nothing came between them): the entry's value gets
 * `2\n` before its first step, or its count bumped in place. A field new in its bucket is then
 * stored by the script as it came (`timeline-append-3.lua`'s fast path); other repeats of a
 * field are merged by the script.
 */
export class PendingCall {
  readonly steps: EncodedBytes;
  readonly refs = new EncodedBytes(1_024);
  stepCount = 0;
  entryCount = 0;
  refCount = 0;
  /** The last entry's correlation (undefined: none, or it is full) and its count of steps. */
  openCorrelation: string | undefined = undefined;
  openCount = 0;

  /** `initialBytes`: the steps' Buffer's first size (the recorder's estimate from its last call: one allocation, no growth copies). */
  constructor(initialBytes?: number) {
    this.steps = new EncodedBytes(initialBytes);
  }

  /** Appends `step` of `correlationId` (`writeStep`'s arguments): to the last entry when it is that correlation's and not full, else as a new entry. */
  addStep(correlationId: string, step: TimelineStepInput, serviceBytes: Uint8Array, atMs: number, detail: Record<string, unknown> | undefined, keys: DetailKeys): void {
    const joined = this.beginStep(correlationId);
    writeStepPieces(this.steps, step, serviceBytes, atMs, detail, keys);
    this.endStep(correlationId, joined);
  }

  /** Appends a job step of `form` (`JobStepForm.write`'s arguments; only when the form `fits`), as `addStep` does. */
  addJobStep(correlationId: string, form: JobStepForm, jobId: string, cause: string | undefined, atMs: number, first: number, second: number): void {
    const joined = this.beginStep(correlationId);
    form.write(this.steps, jobId, cause, atMs, first, second);
    this.endStep(correlationId, joined);
  }

  /**
   * Opens the argument a step is written into: the last entry's value, reopened (its count
   * written or bumped) and a "\n", when it is `correlationId`'s and not full (true); else a new
   * entry: the field `timelineStepsField(correlationId)` written in pieces, and a new argument
   * (false).
   */
  private beginStep(correlationId: string): boolean {
    const steps = this.steps;
    if (this.openCorrelation === correlationId) {
      steps.reopenArg();
      if (this.openCount === 1) steps.prefixArg(TWO_STEPS);
      else steps.setArgByte(0, 0x30 + this.openCount + 1);
      steps.pieceBytes(NEWLINE);
      return true;
    }
    steps.beginArg();
    steps.pieceBytes(STEPS_FIELD_PREFIX_BYTES);
    steps.piece(correlationId);
    steps.endArg();
    steps.beginArg();
    return false;
  }

  /** Ends the step's argument and counts it (`joined`: `beginStep`'s answer). */
  private endStep(correlationId: string, joined: boolean): void {
    this.steps.endArg();
    if (joined) {
      this.openCount += 1;
      if (this.openCount === STEPS_PER_ENTRY) this.openCorrelation = undefined;
    } else {
      this.openCorrelation = correlationId;
      this.openCount = 1;
      this.entryCount += 1;
    }
    this.stepCount += 1;
  }

  get entries(): number {
    return this.stepCount + this.refCount;
  }

  /** The script call: `head` (ARGV[1..4] after the keys), then n, the entries, m, the look-ups. */
  command(head: readonly (string | number)[], keyPrefix: string | undefined): BytesCommand {
    return new BytesCommand('evalsha', [...head, this.entryCount], [this.steps, String(this.refCount), this.refs], keyPrefix);
  }
}
