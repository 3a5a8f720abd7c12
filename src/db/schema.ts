// Kysely table types for the jobq schema (mirrors migrations/). Timestamps come back as Date (pg's default).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export type JobStatus = 'PENDING' | 'RUNNING' | 'RETRY' | 'COMPLETED' | 'DEAD' | 'CANCELLED';
export const JOB_STATUSES: readonly JobStatus[] = [
  'PENDING',
  'RUNNING',
  'RETRY',
  'COMPLETED',
  'DEAD',
  'CANCELLED',
];

export const MISSED_POLICIES = ['skip', 'once', 'all'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];
export const OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export interface JobsTable {
  id: Generated<string>;
  type: string;
  payload: Json;
  status: Generated<JobStatus>;
  queue: Generated<string>;
  priority: Generated<number>;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  run_after: GeneratedTimestamp;
  locked_by: string | null;
  locked_at: Timestamp | null;
  lease_expires_at: Timestamp | null;
  last_error: string | null;
  errors: ColumnType<unknown, string | undefined, string>;
  result: ColumnType<unknown, string | null | undefined, string | null>;
  idempotency_key: string | null;
  cancel_requested_at: Timestamp | null;
  cancelled_by: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** The type's retry backoff, recorded by the claiming worker (null: the reclaimer's default). */
  backoff_base_ms: number | null;
  backoff_max_ms: number | null;
  /** Graceful-shutdown releases without an outcome (past a bound, a release counts as an attempt). */
  releases: Generated<number>;
  /** The job's key (tenant), for per-key limits and fair shares. */
  key: string | null;
  /** Fair-share tag (0 without a key): see migrations/0004_flow_control.sql. */
  fair_seq: ColumnType<string, string | number | undefined, string | number>;
}

export interface QueuesTable {
  name: string;
  paused: Generated<boolean>;
  updated_at: GeneratedTimestamp;
  concurrency: number | null;
  rate_count: number | null;
  rate_period_ms: number | null;
  burst: number | null;
  key_concurrency: number | null;
  tokens: number | null;
  tokens_at: Timestamp | null;
}

export interface JobKeysTable {
  queue: string;
  key: string;
  last_seq: ColumnType<string, string | number, string | number>;
  last_n: number;
  seen_seq: ColumnType<string | null, string | number | null, string | number | null>;
  updated_at: GeneratedTimestamp;
}

export interface WorkersTable {
  id: string;
  host: string;
  pid: number;
  queues: Json;
  types: string[];
  running: Generated<number>;
  version: string;
  metrics_url: string | null;
  started_at: GeneratedTimestamp;
  last_heartbeat_at: GeneratedTimestamp;
  /** The longest recent event-loop stall the worker reported, and when. */
  stalled_ms: number | null;
  stalled_at: Timestamp | null;
  /** Queue → slots held by handlers past their timeout (their jobs no longer RUNNING), in the grace. */
  overtime: Generated<Json>;
  /** Handlers still running after timeout + grace (slots given back). */
  runaways: Generated<number>;
}

export interface RateLimitsTable {
  client: string;
  tokens: number;
  updated_at: Timestamp;
}

export interface SchedulesTable {
  name: string;
  cron: string;
  timezone: Generated<string>;
  type: string;
  payload: Json;
  queue: Generated<string>;
  priority: Generated<number>;
  max_attempts: Generated<number>;
  enabled: Generated<boolean>;
  missed_policy: Generated<MissedPolicy>;
  overlap_policy: Generated<OverlapPolicy>;
  next_run_at: Timestamp;
  last_run_at: Timestamp | null;
  last_job_id: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface MaintenanceTable {
  task: string;
  next_run_at: GeneratedTimestamp;
  last_run_at: Timestamp | null;
  last_run_by: string | null;
  last_result: Json | null;
}

export interface MigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: GeneratedTimestamp;
}

export interface DB {
  jobs: JobsTable;
  queues: QueuesTable;
  workers: WorkersTable;
  rate_limits: RateLimitsTable;
  schedules: SchedulesTable;
  maintenance: MaintenanceTable;
  migrations: MigrationsTable;
  job_keys: JobKeysTable;
}
