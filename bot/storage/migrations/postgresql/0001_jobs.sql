-- PostgreSQL's twin of ../0001_jobs.sql: the same columns and indexes, in PostgreSQL's types
-- (Discord ids are BIGINT; times are DOUBLE PRECISION seconds since the epoch; flags INTEGER 0/1).
-- Every request is a row before Pika is called; the tracker works from this table alone.
CREATE TABLE jobs (
    id                 TEXT PRIMARY KEY,
    pika_job_id        TEXT,
    kind               TEXT NOT NULL,
    request            TEXT NOT NULL,
    guild_id           BIGINT,
    channel_id         BIGINT NOT NULL,
    thread_id          BIGINT,
    user_id            BIGINT NOT NULL,
    status_message_id  BIGINT,
    status             TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1,
    pika_status        TEXT,
    progress           INTEGER NOT NULL DEFAULT 0,
    result_url         TEXT,
    poster_url         TEXT,
    thumbnail_url      TEXT,
    duration           DOUBLE PRECISION,
    seed               BIGINT,
    poll_attempts      INTEGER NOT NULL DEFAULT 0,
    delivery_attempts  INTEGER NOT NULL DEFAULT 0,
    next_poll_at       DOUBLE PRECISION NOT NULL,
    last_error         TEXT,
    webhook_secret     TEXT,
    parent_job_id      TEXT REFERENCES jobs(id),
    result_message_id  BIGINT,
    progress_edited_at DOUBLE PRECISION,
    created_at         DOUBLE PRECISION NOT NULL,
    updated_at         DOUBLE PRECISION NOT NULL,
    finished_at        DOUBLE PRECISION
);

CREATE INDEX jobs_due ON jobs (active, next_poll_at);
CREATE INDEX jobs_pika_id ON jobs (pika_job_id);
CREATE INDEX jobs_result_url ON jobs (result_url);
CREATE UNIQUE INDEX jobs_result_message ON jobs (result_message_id);
CREATE UNIQUE INDEX jobs_webhook_secret ON jobs (webhook_secret);
CREATE INDEX jobs_user ON jobs (guild_id, user_id, created_at);
CREATE INDEX jobs_parent ON jobs (parent_job_id, kind);
