// The library entry point: `import { createClient, createWorker } from 'jobq'`.
export { createClient, Client, type ClientOptions, type TxOption } from './client/client.js';
export {
  createWorker,
  Worker,
  type WorkerOptions,
  type Handler,
  type HandlerContext,
  type HandlerMap,
  type HandlerSpec,
  type JobInfo,
  JobCancelledError,
  JobTimeoutError,
  WorkerShutdownError,
} from './worker/index.js';
export * from './errors.js';
export type {
  Job,
  JobStatus,
  EnqueueSpec,
  EnqueueResult,
  AttemptError,
  ListFilter,
  Page,
  QueueStats,
} from './queue/types.js';
