-- The API's token buckets need no durability: after a crash or a failover every bucket simply starts
-- full again. As an UNLOGGED table its updates write no WAL, so a take does not wait for a WAL flush
-- while it holds the bucket's row lock. With one busy client every request takes from the same row, one
-- after another; measured on PostgreSQL 15 (16 connections, one row, fsync on): ~800-1,000 takes/s
-- logged, ~3,000-6,500/s unlogged (bench/api-rate-limit.ts).
ALTER TABLE rate_limits SET UNLOGGED;
