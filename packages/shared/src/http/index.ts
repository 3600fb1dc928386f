export * from './error-middleware';
export * from './async-handler';
export * from './auth';
export * from './json-body';
export * from './health';
export * from './server';
export * from './service-app';
export * from './correlation';
