-- Several processes sharing one database (issue 13): which process works on a job, until when.
-- claimed_by: the id of the process holding the job (random per start, logged at start-up);
--   NULL when no process holds it. claimed_until: when the lease ends unless renewed (0 when
--   none: never NULL, so that a claim finds the claimable jobs in one range of an index); a job
--   whose lease ended is taken over by another process. See bot/storage/leases.py.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN claimed_until REAL NOT NULL DEFAULT 0;
-- A push that reached a process not holding the job: when, and the Pika job it named (not yet
--   confirmed); the holder honours it at its next renewal, or at once when woken.
ALTER TABLE jobs ADD COLUMN pushed_at REAL;
ALTER TABLE jobs ADD COLUMN pushed_pika_job_id TEXT;

-- Renewal reads a process's own active jobs; a claim, the active jobs whose lease ended.
CREATE INDEX jobs_claimed_by ON jobs (claimed_by, active);
CREATE INDEX jobs_claimable ON jobs (active, claimed_until);
