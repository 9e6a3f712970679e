-- PostgreSQL's twin of ../0008_long_urls.sql. A btree entry holds at most about 2.7 KB: a
-- result URL made from 1,000 characters of Japanese (about 9,000 once percent-encoded) failed
-- the write that records a finished job, at every poll, and its video was never delivered.
-- Both columns are only ever looked up by equality, which a hash index serves at any length.
DROP INDEX jobs_result_url;
CREATE INDEX jobs_result_url ON jobs USING hash (result_url);
DROP INDEX jobs_repeat;
CREATE INDEX jobs_repeat ON jobs USING hash (repeat_key);
