-- PostgreSQL's twin of ../0006_job_engine.sql (what each column means is written there).
ALTER TABLE jobs ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN accepted_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN pika_seconds DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN interaction_token TEXT;
ALTER TABLE jobs ADD COLUMN retry_of TEXT REFERENCES jobs(id);

CREATE INDEX jobs_member_status ON jobs (guild_id, user_id, status);
CREATE INDEX jobs_kind_created ON jobs (kind, created_at);
CREATE INDEX jobs_retry_of ON jobs (retry_of);
