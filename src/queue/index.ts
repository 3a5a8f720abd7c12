// THE queue library: one implementation of every queue operation, called by the CLI, the API, the
// worker, the scheduler and `jobq top`. No timers, HTTP, argv or process.env in here.
export * from './types.js';
export * from './enqueue.js';
export * from './operations.js';
export * from './stats.js';
export * from './transitions.js';
export * from './validate.js';
export type { BackoffOptions } from '../backoff.js';
export { uuidv7, isUuid } from './ids.js';
export { listWorkers, onlineWindowMs, type WorkerInfo } from './workers-online.js';
export { channelFor } from '../sql/jobs.js';
export * from './registry.js';
export * from './limits.js';
