export * from './audit-record';
export * from './audit-log';
export * from './audit-http';
