// The one list of jobq's Prometheus metrics. Labels are bounded: queue, type, status, route, outcome,
// task — never ids. Each process registers them in its own registry (createMetrics) and serves it on
// /metrics; the queue library never imports prom-client.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Creates the full metric set in a fresh registry. */
export function createMetrics(registry = new Registry()) {
  const r = [registry];
  return {
    registry,
    // seed names, exactly
    jobsEnqueued: new Counter({
      name: 'jobs_enqueued_total',
      help: 'Jobs enqueued (created, not idempotent repeats)',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    jobsCompleted: new Counter({
      name: 'jobs_completed_total',
      help: 'Jobs that reached COMPLETED',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    workerJobsCompleted: new Counter({
      name: 'worker_jobs_completed_total',
      help: 'Jobs this worker finished, by outcome',
      labelNames: ['queue', 'type', 'status'],
      registers: r,
    }),
    workerJobDuration: new Histogram({
      name: 'worker_job_duration_seconds',
      help: 'Handler run time',
      labelNames: ['queue', 'type'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    jobsPending: new Gauge({
      name: 'jobs_pending',
      help: 'Jobs waiting to run (PENDING + RETRY), sampled',
      labelNames: ['queue'],
      registers: r,
    }),
    // failures and transitions
    jobsFailed: new Counter({
      name: 'jobs_failed_total',
      help: 'Failed attempts',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    jobsRetried: new Counter({
      name: 'jobs_retried_total',
      help: 'Failed attempts scheduled for retry',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    jobsDead: new Counter({
      name: 'jobs_dead_total',
      help: 'Jobs moved to the dead-letter queue',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    jobsCancelled: new Counter({
      name: 'jobs_cancelled_total',
      help: 'Jobs cancelled',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    leasesLost: new Counter({
      name: 'jobs_leases_lost_total',
      help: 'Outcomes refused because the worker had lost the lease',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    claimsThrottled: new Counter({
      name: 'jobq_claims_throttled_total',
      help: "Claims a queue's flow limit held short while ready jobs were left (reason: concurrency, rate, key_concurrency)",
      labelNames: ['queue', 'reason'],
      registers: r,
    }),
    jobsReclaimed: new Counter({
      name: 'jobs_reclaimed_total',
      help: 'Running jobs reclaimed after their lease expired',
      labelNames: ['queue', 'status'],
      registers: r,
    }),
    // queue state (sampled by one cheap query per interval)
    queueDepth: new Gauge({
      name: 'jobs_queue_depth',
      help: 'Jobs by queue and status, sampled',
      labelNames: ['queue', 'status'],
      registers: r,
    }),
    oldestReadyAge: new Gauge({
      name: 'jobs_oldest_ready_age_seconds',
      help: 'Age of the oldest ready job per queue, sampled',
      labelNames: ['queue'],
      registers: r,
    }),
    readyToStart: new Histogram({
      name: 'jobs_ready_to_start_seconds',
      help: 'Time from a job becoming ready to its handler starting',
      labelNames: ['queue'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    workersOnline: new Gauge({
      name: 'jobq_workers_online',
      help: 'Workers with a fresh heartbeat, sampled',
      registers: r,
    }),
    workerRunaways: new Counter({
      name: 'worker_runaway_handlers_total',
      help: 'Handlers still running after their timeout and grace, whose slot was given back',
      labelNames: ['queue', 'type'],
      registers: r,
    }),
    workerRunawaysRunning: new Gauge({
      name: 'worker_runaway_handlers',
      help: 'Runaway handlers of this worker still running',
      registers: r,
    }),
    workerEventLoopStalls: new Counter({
      name: 'worker_event_loop_stalls_total',
      help: 'Event-loop stalls long enough to delay lease renewal',
      registers: r,
    }),
    workerEventLoopStallSeconds: new Gauge({
      name: 'worker_event_loop_last_stall_seconds',
      help: 'Length of the last event-loop stall that delayed lease renewal',
      registers: r,
    }),
    // API
    apiRequestDuration: new Histogram({
      name: 'api_request_duration_seconds',
      help: 'API request time',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    rateLimited: new Counter({
      name: 'api_rate_limited_total',
      help: 'Requests refused by the rate limit',
      labelNames: ['route'],
      registers: r,
    }),
    // scheduler and maintenance
    schedulesFired: new Counter({
      name: 'scheduler_fires_total',
      help: 'Schedule fire times enqueued or skipped',
      labelNames: ['outcome'],
      registers: r,
    }),
    maintenanceRows: new Counter({
      name: 'maintenance_rows_total',
      help: 'Rows handled by maintenance tasks',
      labelNames: ['task'],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
