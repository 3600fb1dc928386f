export * from './timeline-step';
export * from './timeline-recorder';
export * from './timeline-reader';
export * from './timeline-layout';
export * from './timeline-step-bytes';
export * from './job-step-form';
