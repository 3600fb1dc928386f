export * from './fragments';
export * from './load-config';
export * from './common';
