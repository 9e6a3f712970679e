-- PostgreSQL's twin of ../0009_lent_prompt.sql.
ALTER TABLE jobs ADD COLUMN lent_prompt TEXT;
