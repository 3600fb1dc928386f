export * from './envelope';
export * from './registry';
export * from './validate';
export * from './wire';
export * from './create-event';
export * from './pattern';
export * from './fast-encode';
