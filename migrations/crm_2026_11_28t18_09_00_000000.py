"""Keys and indexes of the jobs."""

from migrations.sql import sql_migration

ID = "2026-11-28T18:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "jobs: constraints and indexes"

SQL = """
ALTER TABLE jobs
    ADD CONSTRAINT jobs_state_check
        CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    ADD CONSTRAINT jobs_attempts_check CHECK (attempts >= 0 AND max_attempts >= 1);
-- The same work is never enqueued twice (keys are optional: NULLs are distinct).
CREATE UNIQUE INDEX jobs_key_idx ON jobs (key);
-- The due query: pending jobs whose time has come and running ones whose lease
-- ended, oldest first, one range scan of this index however many timers wait
-- in the future. Finished jobs are not in it.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state IN ('pending', 'running');
-- Operators list failures newest first; finished jobs are purged oldest first.
CREATE INDEX jobs_failed_idx ON jobs (finished_at) WHERE state = 'failed';
CREATE INDEX jobs_done_idx ON jobs (finished_at) WHERE state IN ('succeeded', 'cancelled');
-- A queue: every job is updated two or three times (claimed, extended, finished),
-- and each update leaves a dead entry in the due index that claims must step
-- over. Vacuumed after 2 % of the table changed, not PostgreSQL's default 20 %.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02,
                      autovacuum_vacuum_insert_scale_factor = 0.02,
                      autovacuum_analyze_scale_factor = 0.02);
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
