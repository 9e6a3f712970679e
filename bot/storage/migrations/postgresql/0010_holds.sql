-- PostgreSQL's twin of ../0010_holds.sql (what each column means is written there).
CREATE TABLE holds (
    interaction_id BIGINT PRIMARY KEY,
    token          TEXT NOT NULL,
    guild_id       BIGINT,
    user_id        BIGINT NOT NULL,
    locale         TEXT,
    made_at        DOUBLE PRECISION NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_until  DOUBLE PRECISION NOT NULL
);
CREATE INDEX holds_claimed_by ON holds (claimed_by);
CREATE INDEX holds_claimable ON holds (claimed_until);
