-- jobq schema, version 1. Applied by `jobq migrate` with search_path set to the jobq schema, so names
-- here are unqualified. Every index is explained; the numbers come from `npm run bench`.

-- Time-ordered UUIDs (version 7): new jobs sort after old ones, so the primary key doubles as the
-- "newest first" order of `jobs list` and inserts append to the right edge of the B-tree instead of
-- touching random pages (random v4 ids made bulk enqueue of 1,000,000 rows markedly slower).
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

CREATE TABLE jobs (
  id                  uuid        PRIMARY KEY DEFAULT uuid_v7(),
  type                text        NOT NULL,
  payload             jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status              text        NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'RUNNING', 'RETRY', 'COMPLETED', 'DEAD', 'CANCELLED')),
  queue               text        NOT NULL DEFAULT 'default',
  priority            integer     NOT NULL DEFAULT 0,
  attempts            integer     NOT NULL DEFAULT 0,
  max_attempts        integer     NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  run_after           timestamptz NOT NULL DEFAULT now(),
  -- lease: who holds the job, since when, until when (extended by the worker's heartbeat)
  locked_by           text,
  locked_at           timestamptz,
  lease_expires_at    timestamptz,
  last_error          text,
  -- one object per failed attempt: {attempt, message, stack, worker, at}
  errors              jsonb       NOT NULL DEFAULT '[]'::jsonb,
  result              jsonb,
  idempotency_key     text,
  cancel_requested_at timestamptz,
  cancelled_by        text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  started_at          timestamptz,
  finished_at         timestamptz
) WITH (fillfactor = 90);

-- The claim index (replaces the seed's jobs_pick_idx). Partial on the two claimable states, so it holds
-- only live work: a backlog of finished history never enters it and never slows a claim. Column order
-- follows the claim's ORDER BY within one queue (priority DESC, run_after, id), so a claim of N jobs
-- reads the first N entries.
CREATE INDEX jobs_ready_idx ON jobs (queue, priority DESC, run_after, id)
  WHERE status IN ('PENDING', 'RETRY');

-- Oldest-ready lookups: starvation protection in the claim (a job ready for longer than the bound is
-- taken first, regardless of priority) and "age of the oldest ready job" in stats and metrics.
CREATE INDEX jobs_ready_age_idx ON jobs (queue, run_after)
  WHERE status IN ('PENDING', 'RETRY');

-- Lease reaper: finds RUNNING jobs whose lease expired. Tiny: only running jobs are in it.
CREATE INDEX jobs_running_lease_idx ON jobs (lease_expires_at)
  WHERE status = 'RUNNING';

-- Idempotent enqueue: one job per key. ON CONFLICT relies on this index.
CREATE UNIQUE INDEX jobs_idempotency_key_idx ON jobs (idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- Retention pruning and throughput ("finished in the last minute") read finished jobs by finish time.
CREATE INDEX jobs_finished_idx ON jobs (finished_at)
  WHERE status IN ('COMPLETED', 'DEAD', 'CANCELLED');

-- The dead-letter queue listed newest first without scanning completed history.
CREATE INDEX jobs_dead_idx ON jobs (queue, id DESC)
  WHERE status = 'DEAD';

-- Per-queue settings shared by every process. A queue without a row is active.
CREATE TABLE queues (
  name       text PRIMARY KEY,
  paused     boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Registered workers and their heartbeats (`jobq workers`).
CREATE TABLE workers (
  id                text PRIMARY KEY,
  host              text NOT NULL,
  pid               integer NOT NULL,
  queues            jsonb NOT NULL,          -- {"email": 10, "default": 4}: queue → slots
  types             text[] NOT NULL,         -- job types this worker has handlers for
  running           integer NOT NULL DEFAULT 0,
  version           text NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Token buckets for the API's per-client rate limit, shared by all API replicas.
CREATE TABLE rate_limits (
  client     text PRIMARY KEY,
  tokens     double precision NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Cron schedules (`jobq scheduler`).
CREATE TABLE schedules (
  name           text PRIMARY KEY,
  cron           text NOT NULL,
  timezone       text NOT NULL DEFAULT 'UTC',
  type           text NOT NULL,
  payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
  queue          text NOT NULL DEFAULT 'default',
  priority       integer NOT NULL DEFAULT 0,
  max_attempts   integer NOT NULL DEFAULT 5,
  enabled        boolean NOT NULL DEFAULT true,
  missed_policy  text NOT NULL DEFAULT 'skip' CHECK (missed_policy IN ('skip', 'once', 'all')),
  overlap_policy text NOT NULL DEFAULT 'allow' CHECK (overlap_policy IN ('allow', 'skip')),
  next_run_at    timestamptz NOT NULL,
  last_run_at    timestamptz,
  last_job_id    uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The scheduler asks "which enabled schedule is due next".
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE enabled;

-- Maintenance tasks: a compare-and-set on next_run_at decides which process runs each due task.
CREATE TABLE maintenance (
  task        text PRIMARY KEY,
  next_run_at timestamptz NOT NULL DEFAULT now(),
  last_run_at timestamptz,
  last_run_by text,
  last_result jsonb
);
