"""Durable jobs: the SQLite store, submission, the tracker, and delivery to Discord."""
