-- PostgreSQL's twin of ../0003_job_failure.sql.
ALTER TABLE jobs ADD COLUMN failure TEXT;
