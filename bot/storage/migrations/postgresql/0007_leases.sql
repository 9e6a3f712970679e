-- PostgreSQL's twin of ../0007_leases.sql (what each column means is written there).
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN pushed_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN pushed_pika_job_id TEXT;

CREATE INDEX jobs_claimed_by ON jobs (claimed_by, active);
CREATE INDEX jobs_claimable ON jobs (active, claimed_until);
