-- One row that readiness checks write, to prove the database takes writes.
CREATE TABLE health_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL
);
