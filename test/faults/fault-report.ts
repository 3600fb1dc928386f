/**
 * Figures of each fault: one line printed as the fault ends, and a Markdown table of all of
 * them at the end of the suite (also written to `.artifacts/faults.md`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultFigures {
  fault: string;
  /** Requests sent by the load generator. */
  sent: number;
  acceptedJobs: number;
  acceptedEvents: number;
  /** Requests the API refused (an error status, connection refused, client timeout). */
  refused: number;
  /** Accepted jobs completed. */
  completed: number;
  /** Accepted jobs that failed into the DLQ (entry parked or recovered). */
  deadLettered: number;
  /** Accepted events on the stream and acknowledged by the group. */
  handled: number;
  /** `workspace.created` events whose trigger job completed / of those accepted. */
  triggers: string;
  /** Accepted events seen on the fan-out channel (PSUBSCRIBE; best effort, pub/sub). */
  fanOut: number;
  /** From the fault until every /health is 200 (restart included), ms. */
  healthyMs: number;
  /** From the end of the load until everything accepted was settled, ms. */
  settleMs: number;
  note: string;
}

/** One line per fault, e.g. for the CI log. */
export function figuresLine(f: FaultFigures): string {
  return (
    `FAULT ${f.fault}: sent ${f.sent}, accepted ${f.acceptedJobs} jobs + ${f.acceptedEvents} events, refused ${f.refused}, ` +
    `completed ${f.completed}, dead-lettered ${f.deadLettered}, events handled ${f.handled}, triggers ${f.triggers}, ` +
    `fan-out seen ${f.fanOut}, healthy after ${(f.healthyMs / 1000).toFixed(1)} s, settled ${(f.settleMs / 1000).toFixed(1)} s after the load` +
    (f.note ? ` (${f.note})` : '')
  );
}

/** The Markdown table of every fault. */
export function figuresTable(all: FaultFigures[]): string {
  const header =
    '| fault | sent | accepted jobs | accepted events | refused | completed | dead-lettered | events handled | trigger jobs | fan-out seen | lost | healthy after | settled after | note |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n';
  const rows = all.map((f) => {
    const lost = f.acceptedJobs - f.completed - f.deadLettered + (f.acceptedEvents - f.handled);
    return (
      `| ${f.fault} | ${f.sent} | ${f.acceptedJobs} | ${f.acceptedEvents} | ${f.refused} | ${f.completed} | ${f.deadLettered} | ` +
      `${f.handled} | ${f.triggers} | ${f.fanOut} | ${lost} | ${(f.healthyMs / 1000).toFixed(1)} s | ${(f.settleMs / 1000).toFixed(1)} s | ${f.note} |`
    );
  });
  return header + rows.join('\n') + '\n';
}

/** Writes the table (with a title and the run's date) to `<root>/.artifacts/faults.md`. */
export function writeFiguresFile(root: string, all: FaultFigures[], preface: string): string {
  const dir = join(root, '.artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'faults.md');
  writeFileSync(file, `# Fault suite, ${new Date().toISOString()}\n\n${preface}\n\n${figuresTable(all)}`);
  return file;
}
