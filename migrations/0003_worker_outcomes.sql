-- Worker outcomes (issue 11). A job's retry policy travels with it: the claiming worker records its
-- type's max attempts and backoff on the row, so a reclaim by any process (another worker, the scheduler)
-- decides RETRY or DEAD exactly as a failure would. `releases` counts graceful-shutdown releases without
-- an outcome: past a small bound a release counts as an attempt, so a job that hangs across deploys ends
-- DEAD instead of looping. Workers report event-loop stalls long enough to endanger their leases, so
-- `jobq explain` can say why a lease expired. Adding nullable columns (and a constant default) rewrites
-- nothing.
ALTER TABLE jobs
  ADD COLUMN backoff_base_ms integer,
  ADD COLUMN backoff_max_ms  integer,
  ADD COLUMN releases        integer NOT NULL DEFAULT 0;

ALTER TABLE workers
  ADD COLUMN stalled_ms integer,
  ADD COLUMN stalled_at timestamptz;
