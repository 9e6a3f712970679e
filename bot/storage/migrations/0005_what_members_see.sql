-- What a member sees of their jobs: the language they asked in (deliveries and reactions answer
-- in it), whether results mention them, and the personal defaults that filled the request.
ALTER TABLE jobs ADD COLUMN locale TEXT;
ALTER TABLE jobs ADD COLUMN mention INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN personal TEXT;
-- A control pressed twice (buttons, reactions, menus, Retry) finds the job the first press made:
-- jobs of one control on one video share this key.
ALTER TABLE jobs ADD COLUMN repeat_key TEXT;
CREATE INDEX jobs_repeat ON jobs (repeat_key, created_at);
-- Estimates of how long a kind of job takes read the latest delivered jobs of that kind.
CREATE INDEX jobs_kind_finished ON jobs (kind, status, finished_at);

-- Each member's own default video options in one server, as one JSON document validated by
-- bot.preferences.PersonalDefaults.
CREATE TABLE member_settings (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
