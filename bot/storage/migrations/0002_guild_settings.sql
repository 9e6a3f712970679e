-- Each server's guardrails, as one JSON document validated by bot.guardrails.GuildSettings.
CREATE TABLE guild_settings (
    guild_id   INTEGER PRIMARY KEY,
    data       TEXT NOT NULL,
    updated_at REAL NOT NULL
);

-- Every change of a setting: who, what, old and new value, when.
CREATE TABLE settings_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    setting   TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    at        REAL NOT NULL
);
CREATE INDEX settings_audit_guild ON settings_audit (guild_id, at);

-- Quotas count a server's and a member's jobs since the start of its day.
CREATE INDEX jobs_guild_created ON jobs (guild_id, created_at);
CREATE INDEX jobs_guild_user_active ON jobs (guild_id, user_id, active);

-- Start-up settles jobs by status (submitting, sending).
CREATE INDEX jobs_status ON jobs (status);
