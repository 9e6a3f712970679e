-- A member's private "thinking" (the hold made before a probe, or before a turn in a burst),
-- kept while its request is handled: a process killed meanwhile leaves it behind, and another
-- process (or the restarted one) tells its member, while the interaction's token still edits
-- it, that the bot restarted (bot/storage/holds.py). The token is a credential, as the jobs'.
-- claimed_by / claimed_until: the process handling it and its lease, renewed with the jobs'.
CREATE TABLE holds (
    interaction_id INTEGER PRIMARY KEY,
    token          TEXT NOT NULL,
    guild_id       INTEGER,
    user_id        INTEGER NOT NULL,
    locale         TEXT,
    made_at        REAL NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_until  REAL NOT NULL
);
CREATE INDEX holds_claimed_by ON holds (claimed_by);
CREATE INDEX holds_claimable ON holds (claimed_until);
