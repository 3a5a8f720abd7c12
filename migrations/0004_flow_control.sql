-- Flow control (issue 14): per-queue concurrency and rate limits, job keys (tenants) with a per-key
-- concurrency limit and fair shares between keys. See src/sql/jobs-claim.ts for how a claim uses them.

-- A job's key (tenant), and its fair-share tag: jobs without a key have tag 0 and keep the old order;
-- a keyed job gets the next tag of its key, never below the queue's head (src/sql/job-keys.ts), so the
-- claim order (priority DESC, fair_seq, …) interleaves keys round-robin whatever their backlog.
ALTER TABLE jobs ADD COLUMN key text;
ALTER TABLE jobs ADD COLUMN fair_seq bigint NOT NULL DEFAULT 0;

-- The claim index gains fair_seq after priority. For queues without keys every tag is 0, so the order
-- and the index walk are what they were (one 8-byte column more per entry).
DROP INDEX jobs_ready_idx;
CREATE INDEX jobs_ready_idx ON jobs (queue, priority DESC, fair_seq, run_after, id)
  WHERE status IN ('PENDING', 'RETRY');

-- Running jobs per queue and key: what a limited claim counts (only claims of limited queues read it).
CREATE INDEX jobs_running_queue_idx ON jobs (queue, key) WHERE status = 'RUNNING';

-- Each key's last tag per queue. Losing it (a crash) only restarts keys at the queue's head: UNLOGGED.
CREATE UNLOGGED TABLE job_keys (
  queue      text   NOT NULL,
  key        text   NOT NULL,
  last_seq   bigint NOT NULL,
  -- how many tags the latest reservation took, and the last_seq it had read: ON CONFLICT uses both to
  -- tell its own read from a concurrent reservation of the same key (src/sql/job-keys.ts)
  last_n     integer NOT NULL,
  seen_seq   bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, key)
);

-- Limits are queue settings. NULL: no such limit. The bucket (tokens, tokens_at) is the rate limit's
-- state, written only by claims holding the queue's flow lock (queue_flow below).
ALTER TABLE queues
  ADD COLUMN concurrency     integer CHECK (concurrency >= 1),
  ADD COLUMN rate_count      integer CHECK (rate_count >= 1),
  ADD COLUMN rate_period_ms  integer CHECK (rate_period_ms >= 1),
  ADD COLUMN burst           integer CHECK (burst >= 1),
  ADD COLUMN key_concurrency integer CHECK (key_concurrency >= 1),
  ADD COLUMN tokens          double precision,
  ADD COLUMN tokens_at       timestamptz,
  ADD CONSTRAINT queues_rate_complete CHECK ((rate_count IS NULL) = (rate_period_ms IS NULL)
    AND (rate_count IS NULL) = (burst IS NULL));

-- The first step of a limited claim: take the queue's flow lock (a transaction-scoped advisory lock,
-- held until the claim commits), then read the limits, the running counts and the refilled bucket.
-- It must be a separate (VOLATILE) function: each statement in it takes a fresh snapshot, so the counts
-- include every claim committed before the lock was granted. Read in the claim statement's own
-- snapshot, taken before it waited for the lock, they would miss the previous holder's claims and a
-- limit could be exceeded. Completions do not take the lock: they only lower the counts. ROWS 1 tells the
-- planner it returns one row (the default guess, 1,000, made it hash-join the claim's UPDATE over a
-- sequential scan of jobs).
CREATE FUNCTION queue_flow(q text) RETURNS TABLE (
  paused boolean, concurrency integer, rate_count integer, rate_period_ms integer, burst integer,
  key_concurrency integer, running integer, key_running jsonb, tokens double precision, at timestamptz
) LANGUAGE plpgsql VOLATILE ROWS 1 SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || '.queue_flow.' || q, 0));
  RETURN QUERY
  SELECT s.paused, s.concurrency, s.rate_count, s.rate_period_ms, s.burst, s.key_concurrency,
    CASE WHEN s.concurrency IS NOT NULL THEN
      (SELECT count(*)::int FROM jobs j WHERE j.queue = q AND j.status = 'RUNNING') END,
    CASE WHEN s.key_concurrency IS NOT NULL THEN (
      SELECT coalesce(jsonb_object_agg(r.key, r.n), '{}'::jsonb) FROM (
        SELECT j.key, count(*) AS n FROM jobs j
        WHERE j.queue = q AND j.status = 'RUNNING' AND j.key IS NOT NULL GROUP BY j.key) r) END,
    CASE WHEN s.rate_count IS NOT NULL THEN least(s.burst::float8, coalesce(s.tokens, s.burst::float8)
      + greatest(0, extract(epoch FROM clock_timestamp() - s.tokens_at)::float8 * 1000)
        * s.rate_count / s.rate_period_ms) END,
    clock_timestamp()
  FROM queues s WHERE s.name = q;
END $$;
