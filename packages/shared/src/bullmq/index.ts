/**
 * The BullMQ classes the services use, loaded from their own files instead of BullMQ's root
 * index (sub-path `@event-infra/shared/bullmq`; issue 12, memory). BullMQ 6's root index also
 * loads its PostgreSQL backend, the flow producer, relays and their scripts: 171 module files
 * against 102 for these classes; in a process that has ioredis, express, pino, zod and
 * prom-client already, about 1.3 MB less live heap and 4–5 MB less RSS after import (README,
 * "Module footprint"). The classes are the same objects the root index exports (it re-exports
 * these files), so `instanceof` and the types from `bullmq` hold. The paths are BullMQ's
 * internal layout (`dist/cjs/classes/*.js`, no `exports` map to forbid them):
 * test/module-footprint.test.ts fails when a release moves them or when one of these is no
 * longer the root's class.
 *
 * Not in the barrel: the event processor must not load BullMQ at start (`createLazyQueue`
 * imports this module on its first job).
 */
import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import { deferRequire } from '../deferred-require';

const require = createRequire(import.meta.url);
/** Where `cron-parser` resolves from BullMQ; until a cron pattern is computed, its stand-in. */
export const CRON_PARSER_PATH = deferRequire('cron-parser', 'bullmq');
const classes = (file: string): typeof BullMQ => require(`bullmq/dist/cjs/classes/${file}.js`) as typeof BullMQ;

/** BullMQ's class files this module loads, relative to the package root (checked by a test). */
export const BULLMQ_CLASS_FILES = ['queue', 'worker', 'queue-events', 'job', 'errors/index'].map((file) => `dist/cjs/classes/${file}.js`);

export const Queue: typeof BullMQ.Queue = classes('queue').Queue;
export const Worker: typeof BullMQ.Worker = classes('worker').Worker;
export const QueueEvents: typeof BullMQ.QueueEvents = classes('queue-events').QueueEvents;
export const Job: typeof BullMQ.Job = classes('job').Job;
export const UnrecoverableError: typeof BullMQ.UnrecoverableError = classes('errors/index').UnrecoverableError;
export const DelayedError: typeof BullMQ.DelayedError = classes('errors/index').DelayedError;

// The instance types under the same names, so `import { Queue } from '@event-infra/shared/bullmq'`
// serves as value and type like `import { Queue } from 'bullmq'`.
// `any` defaults: BullMQ's own.
export type Queue<DataType = any, ResultType = any, NameType extends string = string> = BullMQ.Queue<DataType, ResultType, NameType>;
// `any` defaults: BullMQ's own.
export type Worker<DataType = any, ResultType = any, NameType extends string = string> = BullMQ.Worker<DataType, ResultType, NameType>;
export type QueueEvents = BullMQ.QueueEvents;
// `any` defaults: BullMQ's own.
export type Job<DataType = any, ReturnType = any, NameType extends string = string> = BullMQ.Job<DataType, ReturnType, NameType>;
export type UnrecoverableError = BullMQ.UnrecoverableError;
export type DelayedError = BullMQ.DelayedError;
