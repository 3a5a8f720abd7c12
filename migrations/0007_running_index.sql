-- One index on running jobs instead of two (issue 10: write volume). A claim's UPDATE adds an entry to
-- every index whose predicate the new row version satisfies: with jobs_running_lease_idx (lease reaper)
-- and jobs_running_queue_idx (flow limits' running counts) that was two entries per claimed job and
-- per heartbeat besides the primary key, 69 + 78 bytes of WAL per claimed job (measured one index at a
-- time, serial claims of 500 on 50,000 jobs, PostgreSQL 15). This one index serves both:
--   * flow limits count a queue's (and a key's) running jobs through its leading columns (queue, key);
--   * the reaper's `lease_expires_at < now()` is checked on the index entries themselves (an index
--     condition on the third column: the scan reads only running jobs' entries, no heap row for a
--     lease that has not expired), then sorts the few expired ones.
-- Building it reads the jobs table once and blocks writes to it meanwhile (like 0004's index change).
CREATE INDEX jobs_running_idx ON jobs (queue, key, lease_expires_at) WHERE status = 'RUNNING';
DROP INDEX jobs_running_lease_idx;
DROP INDEX jobs_running_queue_idx;
