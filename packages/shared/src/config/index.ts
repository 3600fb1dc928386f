export * from './fragments';
export * from './load-config';
export * from './common';
export * from './placeholder-secrets';
