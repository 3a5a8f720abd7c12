-- Slots that the jobs table does not show (issue 11): a handler past its timeout keeps its slot for a short
-- grace although its job is no longer RUNNING (the attempt was recorded as failed at once). Each worker
-- writes, when that changes, how many of its slots per queue such handlers hold ({"email": 1}) and how
-- many runaways (handlers still running after timeout + grace, slots given back) it has, so `jobq explain`
-- counts the held slots as busy and `jobq workers` shows the runaways.
ALTER TABLE workers
  ADD COLUMN overtime jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN runaways integer NOT NULL DEFAULT 0;
