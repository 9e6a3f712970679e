-- PostgreSQL's twin of ../0004_health_check.sql.
CREATE TABLE health_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at DOUBLE PRECISION NOT NULL
);
