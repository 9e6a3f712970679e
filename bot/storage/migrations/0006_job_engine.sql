-- The job engine (issue 11).
-- counted: 1 while the job counts toward daily quotas and the cooldown; 0 once it ended without
--   Pika ever accepting it (refused, cancelled before the paid call). See bot/storage/jobs.py.
ALTER TABLE jobs ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
-- accepted_at: when the paid call Pika accepted was sent; the estimator measures a kind's
--   durations from it. pika_seconds: how long Pika took, as the tracker observed it.
ALTER TABLE jobs ADD COLUMN accepted_at REAL;
ALTER TABLE jobs ADD COLUMN pika_seconds REAL;
-- interaction_token: the token of the interaction that asked for the job (a credential for
--   15 minutes), used to edit its answer into the result; cleared when the job ends.
ALTER TABLE jobs ADD COLUMN interaction_token TEXT;
-- retry_of: the failed job a Retry button press asked again.
ALTER TABLE jobs ADD COLUMN retry_of TEXT REFERENCES jobs(id);

-- Admission counts a member's jobs by status (the running cap) in one index range.
CREATE INDEX jobs_member_status ON jobs (guild_id, user_id, status);
-- The estimator reads the latest durations of each kind.
CREATE INDEX jobs_kind_created ON jobs (kind, created_at);
CREATE INDEX jobs_retry_of ON jobs (retry_of);
