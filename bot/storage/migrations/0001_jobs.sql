-- Every request is a row before Pika is called; the tracker works from this table alone.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,          -- our id, shown to users
    pika_job_id       TEXT,
    kind              TEXT NOT NULL,             -- generate, extend, upscale, ...
    request           TEXT NOT NULL,             -- the full JSON body sent to Pika
    guild_id          INTEGER,
    channel_id        INTEGER NOT NULL,          -- where to post (a thread's id when in one)
    thread_id         INTEGER,                   -- set when the request came from a thread
    user_id           INTEGER NOT NULL,
    status_message_id INTEGER,                   -- the "working on it" message
    status            TEXT NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1, -- 1 while the tracker has work to do
    pika_status       TEXT,
    progress          INTEGER NOT NULL DEFAULT 0,
    result_url        TEXT,
    poster_url        TEXT,
    thumbnail_url     TEXT,
    duration          REAL,
    seed              INTEGER,
    poll_attempts     INTEGER NOT NULL DEFAULT 0,
    delivery_attempts INTEGER NOT NULL DEFAULT 0,
    next_poll_at      REAL NOT NULL,
    last_error        TEXT,
    webhook_secret    TEXT,
    parent_job_id     TEXT REFERENCES jobs(id),
    result_message_id INTEGER,
    progress_edited_at REAL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    finished_at       REAL
);

-- The tracker's one query: active jobs that are due.
CREATE INDEX jobs_due ON jobs (active, next_poll_at);
CREATE INDEX jobs_pika_id ON jobs (pika_job_id);
CREATE INDEX jobs_result_url ON jobs (result_url);
CREATE UNIQUE INDEX jobs_result_message ON jobs (result_message_id);
CREATE UNIQUE INDEX jobs_webhook_secret ON jobs (webhook_secret);
CREATE INDEX jobs_user ON jobs (guild_id, user_id, created_at);
CREATE INDEX jobs_parent ON jobs (parent_job_id, kind);
