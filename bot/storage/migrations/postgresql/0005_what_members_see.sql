-- PostgreSQL's twin of ../0005_what_members_see.sql.
ALTER TABLE jobs ADD COLUMN locale TEXT;
ALTER TABLE jobs ADD COLUMN mention INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN personal TEXT;
ALTER TABLE jobs ADD COLUMN repeat_key TEXT;
CREATE INDEX jobs_repeat ON jobs (repeat_key, created_at);
CREATE INDEX jobs_kind_finished ON jobs (kind, status, finished_at);

CREATE TABLE member_settings (
    guild_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
