export { demoSleepHandler } from './demo-sleep';
export { demoFailHandler } from './demo-fail';
export { eventsPublishHandler } from './events-publish';
export { httpRequestHandler } from './http-request';
